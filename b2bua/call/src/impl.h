#pragma once
// CallManager's private state: calls, their legs, and the maps from SIP identifiers (dialog
// keys, transaction ids) to them. Shared by call_manager.cpp (calls, A-leg, teardown),
// bridge.cpp (B-legs, forking) and relay.cpp (requests within dialogs).
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sb/call/call_manager.h"
#include "sb/dialog/dialog.h"

namespace sb::call {

struct Call;

enum class LegState : std::uint8_t { calling, early, confirmed, terminated };

// One side of a call: the A-leg (index 0, we are its UAS) or a B-leg (index >= 1, its UAC).
struct Leg {
    Leg(Call& c, std::uint32_t i) : call(c), index(i) {}
    Call& call;
    std::uint32_t index;  // also the media::LegId
    LegState state = LegState::calling;
    dialog::Dialog dialog;
    std::string sent_by;  // our Via sent-by towards this peer

    // B-leg: the INVITE and how it ended.
    std::string destination;  // as the dialplan named it
    std::uint32_t step = 0;   // the bridge step that started it
    txn::ClientTxnId invite_txn;
    std::uint32_t invite_cseq = 1;
    bool invite_done = false;  // a final response came (or the transaction ended)
    bool cancelled = false;    // we sent CANCEL (timeout, answered elsewhere, caller gone)
    int final_status = 0;
    std::string final_reason;
    std::optional<MediaRecord> media;  // taken when the leg's media is released

    // The ACK for the last 2xx this leg sent us, resent when the 2xx is retransmitted. With a late
    // offer (the 2xx carried the offer) the ACK waits for the answer from the other leg.
    std::string ack;
    std::uint32_t ack_cseq = 0;
    bool ack_waits_for_answer = false;

    // A 2xx we sent as UAS on this leg, retransmitted until its ACK (13.3.1.4).
    struct Pending2xx {
        txn::ServerTxnId txn;
        std::string bytes;
        std::uint32_t cseq = 0;
        Duration interval{};
        TimePoint give_up{};
    };
    std::optional<Pending2xx> pending_2xx;
    // The call ended before the ACK of our 2xx to the INVITE: the BYE waits for that ACK or the
    // 2xx's give-up (RFC 3261 15).
    bool bye_after_ack = false;
    void on_retransmit();
    MemberTimer<Leg, &Leg::on_retransmit> retransmit_timer{this};

    // Relaying a request within the dialog: the server transaction on this leg whose answer
    // comes from the other leg, and our client transaction on this leg relaying the other's.
    txn::ServerTxnId relay_in;
    bool relay_in_offer = false;  // that request carried an SDP offer
    txn::ClientTxnId relay_out;

    // RFC 4028 session timer of this leg: 0 when none was negotiated.
    std::uint32_t session_expires_s = 0;
    bool we_refresh = false;
    std::string last_sdp_sent;  // for a refreshing re-INVITE when the peer lacks UPDATE
    // Our 2xx to its offer-less re-INVITE, which we answered ourselves, carried our offer: the
    // ACK of that 2xx carries its answer (RFC 3261 14.2), for the media engine.
    bool answer_in_ack = false;
    bool peer_allows_update = false;
    // Its last offer put the other leg on hold, which we answered ourselves and which plays the
    // other leg music (CallConfig::music_on_hold).
    bool holding = false;
    void on_session_timer();
    MemberTimer<Leg, &Leg::on_session_timer> session_timer{this};
};

// What a client transaction of ours is for.
struct ClientRef {
    std::uint64_t call = 0;
    std::uint32_t leg = 0;
    enum Kind : std::uint8_t { invite, cancel, bye, relay, refresh } kind = invite;
    bool done = false;  // a final response came or the transaction ended
};

// What a server transaction is for.
struct ServerRef {
    std::uint64_t call = 0;
    std::uint32_t leg = 0;
    enum Kind : std::uint8_t { a_invite, relay } kind = a_invite;
};

// What the media engine reports on its own threads, handed over to the shard's thread, which
// drains it on a timer while any call collects digits or waits for a prompt's end: a key press
// (MediaSession::watch_digits) or a prompt that played to its end (play_prompt_then). A notice
// carries its call and the wait that asked for it (the collection, or the prompt), so that one
// arriving after that wait ended is dropped, as is anything beyond kMaxPending (a flood).
class MediaInbox {
  public:
    struct Notice {
        enum Kind : std::uint8_t { key_press, prompt_end } kind = key_press;
        std::uint64_t call = 0;
        std::uint64_t wait = 0;  // Call::Collect::id, or Call::Prompt::id
        char key = 0;
    };
    static constexpr std::size_t kMaxPending = 256;
    void push(Notice n) {
        std::lock_guard lock(mutex_);
        if (pending_.size() < kMaxPending) pending_.push_back(n);
    }
    std::vector<Notice> take() {
        std::vector<Notice> out;
        std::lock_guard lock(mutex_);
        out.swap(pending_);
        return out;
    }

  private:
    std::mutex mutex_;
    std::vector<Notice> pending_;
};

// A key press signalled in SIP INFO (application/dtmf-relay, application/dtmf).
struct InfoKey {
    char key = 0;  // 0-9 * # A-D
    int duration_ms = 0;
};

class CallManager::Impl {
  public:
    Impl(CallConfig config, CallServices services, txn::TransactionLayer& txns, txn::Sender& sender,
         TimerWheel& wheel, std::unique_ptr<Router> router, std::size_t shard_index);
    ~Impl();

    // call_manager.cpp
    void on_request(txn::ServerTxnId id, const sip::Message& req, const Flow& flow);
    void on_ack(const sip::Message& ack, const Flow& flow);
    void on_server_gone(txn::ServerTxnId id);
    void on_client_response(txn::ClientTxnId id, const sip::Message& resp);
    void on_client_failure(txn::ClientTxnId id, int status, const char* reason);
    void stop();
    std::size_t active_calls() const { return calls_.size(); }

    // Routing (the Router and the CallApi of a call).
    void run_routing_step(Call& c, RouteStep step);
    void deliver_outcome(Call& c, Outcome outcome, bool record = true);
    void on_deferred_outcome(Call& c);
    void api_hangup(Call& c, int code, std::string_view reason);
    void api_bridge(Call& c, const BridgeRequest& req);
    bool api_answer(Call& c);
    bool api_record(Call& c, bool start);
    void api_conference(Call& c, std::string_view room, const ConferenceRequest& req);
    void api_collect_digits(Call& c, std::string_view prompt, const CollectRequest& req);
    // A key the caller pressed (from the inbox, or SIP INFO): counts while the call collects.
    void on_caller_key(Call& c, char key);
    void on_collect_timeout(Call& c);
    void finish_collect(Call& c);
    void stop_collect(Call& c);  // unwatches; no outcome
    // An INFO carrying a key press from `leg`: answered here (sent on to the bridged leg,
    // collected from the caller); false when it is not one, or must be relayed as it is.
    bool on_dtmf_info(Call& c, Leg& leg, txn::ServerTxnId id, const sip::Message& req,
                      const Flow& flow);
    // A wait that cannot start: its failure reaches the Router on the next loop turn.
    void fail_wait(Call& c, std::string_view what, std::string_view why);

    // Teardown. `by`: the leg that hung up (it gets no BYE), or nullptr.
    void end_call(Call& c, std::string reason, Leg* by = nullptr, int a_status = 0);
    // Our SDP answer to the caller for early media we play (made once per call); nullopt when
    // the media engine does not anchor media or the caller made no offer.
    std::optional<std::string> early_media(Call& c);
    void api_playback(Call& c, std::string_view name);
    // Plays the prompt to the caller; on_playback_done follows its end, as the media engine
    // reports it (or, failing that, the playback timer). False if it cannot.
    bool start_prompt(Call& c, std::shared_ptr<const media::dsp::Prompt> prompt);
    // The wait for the prompt's end is over (it ended, a key stopped it, the call ended): no
    // notice or timer of it counts any more. `stop`: silence the prompt too.
    void stop_prompt(Call& c, bool stop);
    void on_playback_timeout(Call& c);
    void on_playback_done(Call& c);
    void drain_media();  // the MediaInbox, every kMediaPoll while any call waits on it
    void poll_media();   // arms the drain if it is not armed
    void maybe_destroy(Call& c);
    void destroy(Call& c);
    void on_max_duration(Call& c);

    // A-leg responses.
    void respond_a(Call& c, int status, std::string_view reason, std::string_view extra = {},
                   std::string_view content_type = {}, std::string_view body = {});
    void start_2xx_retransmission(Leg& leg, txn::ServerTxnId txn, std::string bytes,
                                  std::uint32_t cseq);
    void retransmit_2xx(Leg& leg);

    // bridge.cpp
    // Per-call direct media. The PBX's media did something for the caller (an SDP of its own or
    // relayed through it reached the caller, it plays, watches keys, records, holds a room): the
    // call's session can no longer be swapped (Call::media_used).
    void mark_media_used(Call& c);
    // At a bridge's start: the call goes direct when the request says so, or says automatic and
    // the caller and every destination are extensions whose media setting is "direct"; while the
    // session is unused, the anchored session gives way to one of the direct engine.
    void choose_media(Call& c, BridgeMedia asked);
    bool extensions_want_direct(const Call& c) const;
    // Replaces the call's unused session with a new one of the direct or the system's engine.
    void switch_media(Call& c, bool direct);
    media::MediaEngine& direct_engine() {
        return services_.direct_media ? *services_.direct_media : own_direct_media_;
    }
    void start_step(Call& c);
    void step_done(Call& c);
    void finish_bridge(Call& c);
    void on_bridge_timeout(Call& c);
    // Sends the INVITE of a new B-leg: 0, or the status the destination counts as when it cannot
    // (488: the caller's offer has nothing we can take; 503: no media port, no transport).
    int start_b_leg(Call& c, std::string_view destination, std::string_view target,
                    const Flow& flow, const std::vector<std::string>& path);
    void on_b_invite_response(Call& c, Leg& leg, ClientRef& ref, const sip::Message& resp);
    void on_b_invite_failure(Call& c, Leg& leg, int status, const char* reason);
    // `sdp`: the caller's SDP made from the winner's 2xx (our answer from its answer, or our
    // offer from its offer when the caller made none); none when the 2xx had no body.
    void answer_a_from(Call& c, Leg& winner, const sip::Message& resp,
                       std::optional<std::string> sdp);
    void reject_answer(Call& c, Leg& leg, const sip::Message& resp, const std::string& why);
    void release_late_answer(Call& c, Leg& leg, const sip::Message& resp);
    void cancel_leg(Leg& leg, const char* why);
    // Releases the leg's media, keeping what the relay saw of it for the call record.
    void release_media(Call& c, Leg& leg);
    void send_ack(Leg& leg, std::uint32_t cseq, std::string_view content_type,
                  std::string_view body);
    txn::ClientTxnId send_in_dialog(Call& c, Leg& leg, std::string_view method,
                                    ClientRef::Kind kind, std::string_view extra_headers,
                                    std::string_view content_type, std::string_view body);

    // relay.cpp
    void on_in_dialog_request(txn::ServerTxnId id, const sip::Message& req, const Flow& flow);
    void on_relay_response(Call& c, Leg& out_leg, txn::ClientTxnId id, const sip::Message& resp);
    void on_relay_failure(Call& c, Leg& out_leg, int status);
    void on_in_dialog_ack(Call& c, Leg& leg, const sip::Message& ack);
    // The leg's SDP answer to an offer of our own (the last SDP we sent it): in the ACK of our
    // 2xx to its offer-less re-INVITE, or in its 2xx to our session refresh.
    void take_answer_to_our_offer(Call& c, Leg& leg, std::string_view sdp, std::string_view in);
    void on_local_request(Call& c, Leg& a, txn::ServerTxnId id, const sip::Message& req,
                          const Flow& flow);
    // A re-INVITE or UPDATE of a bridged leg that holds, or resumes, or comes while either leg
    // holds: answered here (music on hold). False: relay it as ever.
    bool on_hold_request(Call& c, Leg& leg, Leg& other, txn::ServerTxnId id,
                         const sip::Message& req, const Flow& flow);
    // Our 2xx to a re-INVITE or UPDATE of `leg` that we answer ourselves (with `body`, our SDP,
    // or none), retransmitted until its ACK for an INVITE.
    void reply_local_2xx(Leg& leg, txn::ServerTxnId id, const sip::Message& req, const Flow& flow,
                         std::string_view body);
    void arm_session_timer(Leg& leg);
    void session_timer_fired(Leg& leg);
    void negotiate_session_timer_a(Call& c, std::string& extra_headers);
    void take_session_timer_b(Leg& leg, const sip::Message& resp);

    // Helpers.
    Leg* leg_of(Call& c, std::uint32_t index);
    Leg* other_leg(Call& c, const Leg& leg);  // the bridged peer of a confirmed leg
    std::string dialog_key(std::string_view call_id, std::string_view local_tag) const;
    std::string sent_by_for(const Flow& flow);
    std::string contact_for(const Flow& flow, std::string_view sent_by) const;
    txn::ClientTxnId track_client(Call& c, Result<txn::ClientTxnId> started, std::uint32_t leg,
                                  ClientRef::Kind kind);
    void reply(txn::ServerTxnId id, const sip::Message& req, const Flow& flow, int status,
               std::string_view reason, std::string_view to_tag = {}, std::string_view extra = {},
               std::string_view content_type = {}, std::string_view body = {});
    std::string make_reply(const sip::Message& req, const Flow& flow, int status,
                           std::string_view reason, std::string_view to_tag = {},
                           std::string_view extra = {}, std::string_view content_type = {},
                           std::string_view body = {});
    std::int64_t now_ms() const;
    bool media_full_warned_ = false;  // said once until media ports are free again

    CallConfig config_;
    CallServices services_;
    txn::TransactionLayer& txns_;
    txn::Sender& sender_;
    TimerWheel& wheel_;
    std::unique_ptr<Router> router_;
    std::size_t shard_;
    media::DirectMedia own_direct_media_;  // CallServices::direct_media when that is null
    bool system_direct_ = false;           // services_.media itself is direct: nothing to switch
    txn::ClientUser* user_ = nullptr;  // the CallManager: receives our client transactions' results
    std::uint64_t next_call_ = 1;

    std::unordered_map<std::uint64_t, std::unique_ptr<Call>> calls_;
    std::unordered_map<std::string, std::pair<std::uint64_t, std::uint32_t>>
        dialogs_;  // key -> call, leg
    std::unordered_map<txn::ServerTxnId, ServerRef> server_txns_;
    std::unordered_map<txn::ClientTxnId, ClientRef> client_txns_;
    std::unordered_map<std::string, Endpoint> source_cache_;  // remote IP -> our address towards it

    // Keys pressed on calls that collect digits, and the ends of prompts that calls wait for;
    // drained every kMediaPoll while any call collects or waits.
    std::shared_ptr<MediaInbox> media_inbox_ = std::make_shared<MediaInbox>();
    std::size_t collecting_ = 0;      // calls collecting digits now
    std::size_t prompt_waiters_ = 0;  // calls waiting for the media engine's word of a prompt's end
    std::uint64_t next_collection_ = 1;
    std::uint64_t next_prompt_ = 1;
    MemberTimer<Impl, &Impl::drain_media> media_timer_{this};
};

// A call: the A-leg's INVITE, its legs, the state of routing and bridging. Implements the CallApi
// the Router drives.
struct Call final : CallApi {
    Call(CallManager::Impl& m, std::uint64_t i) : impl(m), id(i) {}
    CallManager::Impl& impl;
    std::uint64_t id;

    sip::Message
        invite;  // a copy of the A-leg's INVITE (the transaction's copy dies before the call)
    txn::ServerTxnId a_txn;
    Flow a_flow;
    std::vector<std::unique_ptr<Leg>> legs;  // [0] is the A-leg
    Leg* winner = nullptr;
    TimePoint began{};  // the INVITE's arrival, for the record's answer and first-packet times
    std::unique_ptr<media::MediaSession> media;
    std::vector<txn::ClientTxnId> client_ids;  // every client transaction of the call (map cleanup)
    std::vector<txn::ServerTxnId> server_ids;
    std::vector<std::string> dialog_keys;
    std::size_t pending_clients = 0;  // client transactions without a final response

    // Facts the Router reads.
    std::string caller_number_, caller_name_, callee_number_, request_uri_, ext_number_, ext_name_;
    // What the Router asked for the B-legs.
    std::string cid_number, cid_name;
    std::vector<std::pair<std::string, std::string>> extra_headers;

    bool a_final_sent = false;
    // The caller has our own SDP answer (early media we play: ringback, busy tone); the SDP.
    std::optional<std::string> early_sdp;
    bool ringback_playing = false;
    bool answered = false;
    // We answered the caller ourselves (answer(), conference()) with early_sdp: a bridge that
    // follows answers only towards its callee, and until one does we are the caller's only peer.
    bool answered_locally = false;
    // The caller's SDP the media engine last took from it locally: an offer we answered, or its
    // answer (in an ACK) to ours ("": the INVITE's). A bridge offers the callee from it.
    std::string latest_offer;
    std::string conference_room;  // the room the caller is in ("" if none)
    // The session is in use towards the caller (see Impl::mark_media_used): a bridge can no
    // longer swap it for direct media (or a failed direct bridge back for the anchored one).
    bool media_used = false;
    bool media_failure_logged = false;  // the caller's offer could not be relayed (said once)
    // `media` is a session of the direct engine, by a bridge's per-call decision.
    bool direct_media = false;
    // The caller extension's tone plan ("" for the system's), for a session made anew.
    std::string tone_country;
    bool ended = false;
    bool routing = false;    // the Router has the call (started, not finished)
    bool in_router = false;  // inside Router::start/resume right now

    struct Bridge {
        bool active = false;
        std::vector<std::string> destinations;
        int timeout_s = 30;
        bool sequential = false;
        std::size_t next = 0;       // sequential: the next destination
        std::uint32_t step = 0;     // increments with every step (a destination, or all at once)
        std::vector<int> statuses;  // final responses of the bridge's legs (16.7)
        bool step_timed_out = false;
    } bridging;
    std::optional<Outcome> last_outcome;
    std::optional<Outcome> deferred_outcome;  // delivered on the next loop turn
    bool deferred_records = true;             // it is a bridge's (see deliver_outcome)

    CallRecord record;

    void on_bridge_timer() { impl.on_bridge_timeout(*this); }
    void on_outcome_timer() { impl.on_deferred_outcome(*this); }
    void on_duration_timer() { impl.on_max_duration(*this); }
    void on_playback_timer() { impl.on_playback_timeout(*this); }
    void on_busy_timer() {
        impl.end_call(*this,
                      tone_status == 486 || tone_status == 600
                          ? "routing ended: busy (after the busy tone)"
                          : "routing ended: failed (after the congestion tone)",
                      nullptr, tone_status);
    }
    int tone_status = 486;  // what the caller gets after the busy or congestion tone
    void on_destroy_timer() { impl.destroy(*this); }
    MemberTimer<Call, &Call::on_bridge_timer> bridge_timer{this};
    MemberTimer<Call, &Call::on_outcome_timer> outcome_timer{this};
    MemberTimer<Call, &Call::on_duration_timer> duration_timer{this};
    MemberTimer<Call, &Call::on_destroy_timer> destroy_timer{this};
    MemberTimer<Call, &Call::on_busy_timer> busy_timer{this};
    // The prompt the caller hears (playback, play_and_collect). Its end comes from the media
    // engine as a MediaInbox notice naming `id`; the playback timer is the safety net for an
    // engine that never says (prompt length and a margin), or the only word for one that cannot
    // (play_prompt_then false: the prompt's length).
    struct Prompt {
        bool playing = false;
        std::uint64_t id = 0;   // MediaInbox::Notice::wait of its end
        bool reported = false;  // the media engine reports its end
    } prompt;
    MemberTimer<Call, &Call::on_playback_timer> playback_timer{this};

    // collect_digits(): the keys so far and when to stop.
    struct Collect {
        bool active = false;
        std::uint64_t id = 0;  // the collection (MediaInbox::Notice::wait)
        CollectRequest request;
        std::string digits;
    } collect;
    void on_collect_timer() { impl.on_collect_timeout(*this); }
    MemberTimer<Call, &Call::on_collect_timer> collect_timer{this};

    Leg& a() { return *legs[0]; }

    // CallApi
    std::string_view caller_number() const override { return caller_number_; }
    std::string_view caller_name() const override { return caller_name_; }
    std::string_view callee_number() const override { return callee_number_; }
    std::string_view request_uri() const override { return request_uri_; }
    std::optional<std::string_view> header(std::string_view name) const override;
    std::optional<std::string_view> extension_number() const override;
    std::optional<std::string_view> extension_name() const override;
    void set_caller_id(std::string_view number, std::string_view name) override;
    void set_header(std::string_view name, std::string_view value) override;
    void log(LogLevel level, std::string_view text) override;
    bool answer() override { return impl.api_answer(*this); }
    bool record_call(bool start) override { return impl.api_record(*this, start); }
    void hangup(int code, std::string_view reason) override {
        impl.api_hangup(*this, code, reason);
    }
    void bridge(const BridgeRequest& request) override { impl.api_bridge(*this, request); }
    void playback(std::string_view name) override { impl.api_playback(*this, name); }
    void conference(std::string_view room, const ConferenceRequest& request) override {
        impl.api_conference(*this, room, request);
    }
    void collect_digits(std::string_view prompt, const CollectRequest& request) override {
        impl.api_collect_digits(*this, prompt, request);
    }
};

}  // namespace sb::call
