#pragma once
// The B2BUA of one shard: every call is an A-leg (the caller's dialog with us, where we are the
// UAS) bridged to one or more B-legs (our dialogs towards callees, where we are the UAC), each
// with its own Call-ID, tags and CSeq space. A Router (the Lua dialplan) decides where a call
// goes; the MediaSession seam sees every SDP offer and answer.
//
// The shard hands the CallManager the requests of calls (INVITE, ACK, BYE, CANCEL, and within a
// dialog UPDATE, INFO, MESSAGE, NOTIFY, REFER); it is the ClientUser of every request it sends.
//
// Threading: one CallManager per shard, used only on that shard's thread. A call lives on the
// shard that received its INVITE; every tag it generates names that shard (make_shard_tag), so
// requests within its dialogs and responses to its requests reach it from any socket.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sb/call/call_record.h"
#include "sb/call/router.h"
#include "sb/common/clock.h"
#include "sb/common/endpoint.h"
#include "sb/common/timer_wheel.h"
#include "sb/media/media_session.h"
#include "sb/registrar/authenticator.h"
#include "sb/registrar/credential_cache.h"
#include "sb/registrar/location_service.h"
#include "sb/sip/message.h"
#include "sb/txn/client_user.h"
#include "sb/txn/ids.h"
#include "sb/txn/sender.h"
#include "sb/txn/transaction_layer.h"

namespace sb::call {

struct CallConfig {
    std::string server_name = "Switchboard";            // Server / User-Agent
    std::size_t max_calls = 50'000;                     // per shard; beyond: 503 + Retry-After
    std::size_t max_destinations = 32;                  // B-legs one bridge may ring at once
    Duration max_call_duration{std::chrono::hours(4)};  // then both legs get BYE
    // RFC 4028 session timers: the interval we ask for, and the smallest we accept (Min-SE).
    std::uint32_t session_expires_s = 1800;
    std::uint32_t min_se_s = 90;
    // Addresses whose INVITEs are taken without digest authentication, like an IP-authenticated
    // trunk (port 0: any port). Their calls have no calling extension (CallApi::extension_number
    // is nil), so the dialplan decides what they may reach. Empty by default.
    std::vector<Endpoint> trusted_peers;
    // While a callee rings without early media of its own, the caller hears ringback played by
    // the media engine (a 180 with our SDP answer), when the engine anchors media.
    bool ringback = true;
    // A busy destination (486, 600): the caller gets it at once (0), or first hears the busy
    // tone this many seconds as early media; a failed one (500, 502, 503, 504) the congestion
    // tone ("fast busy") likewise.
    std::uint32_t busy_tone_s = 0;
    // Where call:playback() finds prompts (<name>.wav).
    std::string prompts_dir = "prompts";
    // Music on hold: when a leg of a bridged call puts the other on hold, we answer its hold
    // ourselves and play this prompt to the other leg, looped, until it resumes (as Asterisk
    // does; the other phone is never re-INVITEd). "" or a prompt that does not load: the hold
    // is relayed to the other phone as it is.
    std::string music_on_hold = "moh";
    // Where call:record() writes: <recordings_dir>/YYYY/MM/DD/<time>-<caller>-<callee>-<id>.wav.
    std::string recordings_dir = "recordings";
    Duration t1{500};  // RFC 3261 T1, for 2xx retransmissions (13.3.1.4)
    Duration t2{4000};
};

// Shared, thread-safe services.
struct CallServices {
    const Clock& clock;
    registrar::Authenticator& authenticator;
    const registrar::LocationService& locations;
    const registrar::CredentialCache& credentials;
    media::MediaEngine& media;
    CallRecordSink* records = nullptr;  // optional
    // The engine of calls whose media goes direct by a per-call decision (an extension's media
    // setting, the dialplan's bridge option) while `media` anchors; nullptr: a media::DirectMedia
    // of the CallManager's own. Unused when `media` is a DirectMedia itself.
    media::MediaEngine* direct_media = nullptr;
};

// Tags (and B-leg Call-IDs) the B2BUA generates name the shard that owns the dialog:
// "sb3-<random>".
std::string make_shard_tag(std::size_t shard);
// The shard a tag made by make_shard_tag() names, or nullopt for any other tag.
std::optional<std::size_t> shard_of_tag(std::string_view tag);

class CallManager final : public txn::ClientUser {
  public:
    CallManager(CallConfig config, CallServices services, txn::TransactionLayer& txns,
                txn::Sender& sender, TimerWheel& wheel, std::unique_ptr<Router> router,
                std::size_t shard_index);
    ~CallManager() override;
    CallManager(const CallManager&) = delete;
    CallManager& operator=(const CallManager&) = delete;

    // True for the requests the B2BUA handles: INVITE, BYE, CANCEL, and any request within a
    // dialog (To tag present) except OPTIONS.
    static bool handles(const sip::Message& request);

    // From the shard's txn::ServerUser.
    void on_request(txn::ServerTxnId id, const sip::Message& request, const Flow& flow);
    void on_ack(const sip::Message& ack, const Flow& flow);
    void on_server_gone(txn::ServerTxnId id);  // transport error or timeout of a server transaction

    // txn::ClientUser
    void on_response(txn::ClientTxnId id, const sip::Message& response) override;
    void on_timeout(txn::ClientTxnId id) override;
    void on_transport_error(txn::ClientTxnId id) override;

    // Ends every call (shutdown): BYE to answered legs, final responses to unanswered callers.
    void stop();

    std::size_t active_calls() const;

    class Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace sb::call
