#pragma once
// One relay worker: a thread, an io_uring and the ports it serves (see relay.h for the design).
// Private to sb_media.
#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "conference_room.h"
#include "recorder.h"
#include "sb/common/result.h"
#include "sb/media/dsp/dtmf_source.h"
#include "sb/media/dsp/telephone_event.h"
#include "sb/media/rtp/media_port.h"
#include "sb/media/rtp/outgoing_stream.h"
#include "sb/media/rtp/receive_stats.h"
#include "sb/media/rtp/rtp_header.h"
#include "sb/media/rtp/sock_addr.h"
#include "sb/media/rtp/source_latch.h"
#include "transcoder.h"

namespace sb::media::rtp {

// What the shard thread reads of a port: published by the worker a few times a second.
struct StatsBox {
    mutable std::mutex mu;
    PortStats stats;
};

// A port as its worker sees it. Created by the shard (sockets bound there), owned by the worker
// from the moment the "add" command is applied.
struct PortState {
    PortState(int rtp, int rtcp, std::uint16_t port, std::uint32_t ssrc, std::uint16_t seq,
              std::uint32_t ts)
        : rtp_fd(rtp), rtcp_fd(rtcp), rtp_port(port), out(ssrc, seq, ts) {}

    int rtp_fd;
    int rtcp_fd;
    unsigned rtp_slot = 0;  // in the worker's registered file table
    unsigned rtcp_slot = 0;
    std::uint16_t rtp_port;
    std::size_t index = 0;  // in the worker's table

    RemoteSpec spec;
    SourceLatch latch;
    // Where the RTP socket is connected: the latched source, once it is on an expected IP. A
    // connected UDP socket sends without a route lookup per packet (about half the cost of a
    // send here), and the kernel then drops strangers' packets itself. Disconnected when the
    // source falls silent (so that a changed NAT binding can be learnt) or a new SDP comes.
    SockAddr connected;
    SockAddr rtcp_destination;
    OutgoingStream out;
    PortState* forward = nullptr;

    // The leg's negotiated formats (none set: relay everything as it is), and the conversion
    // of what it sends into what the port it forwards to is sent, when they differ.
    PortCodecs codecs;
    bool has_codecs = false;
    std::unique_ptr<Transcoder> transcoder;
    const PortState* transcoder_to = nullptr;  // the target and formats it was made for
    std::uint32_t transcoder_generation = 0;
    std::uint32_t codecs_generation = 0;  // bumped by set_codecs

    // RTCP, terminated per leg (relay_rtcp.cpp): what we receive from the far end, and the
    // timing of the sender reports each side sent, for round-trip times (RFC 3550 6.4.1).
    ReceiveStats rx;
    bool receiving = false;              // rx follows a source
    std::uint32_t their_lsr = 0;         // middle 32 bits of the NTP time of their last SR
    std::int64_t their_sr_ns = 0;        // when it arrived
    std::uint64_t reported_packets = 0;  // out.packets() at our last report
    std::int64_t next_report_ns = 0;
    // While in a room the far end hears the room's stream, not `out`: our reports speak for it
    // (its SSRC, and an SR when it sent since the last one), and the far end's report blocks
    // about it are read too.
    std::shared_ptr<RoomStream> room_stream;
    std::uint64_t reported_room_packets = 0;  // room_stream's packets at our last report

    // Audio we play to the far end (relay_player.cpp): while a source plays, what the other leg
    // sends is not forwarded here.
    std::unique_ptr<dsp::AudioSource> source;
    std::function<void()> source_end;  // called when `source` has played to its end
    // DTMF from the other leg's RFC 4733 events, played in-band when this leg has no
    // telephone-event (it takes precedence over `source` while a digit plays).
    std::unique_ptr<dsp::DtmfSource> dtmf;
    std::uint32_t dtmf_event_timestamp = 0;
    bool dtmf_event_open = false;
    // In-band DTMF in what this leg sends, turned into RFC 4733 events for a leg that takes
    // them (relay_dtmf.cpp): the detector, the decoder feeding it, and the event in progress.
    std::unique_ptr<dsp::DtmfDetector> detector;
    std::unique_ptr<codec::Decoder> detector_decoder;
    std::uint32_t detector_generation = 0;
    std::uint16_t detected_sequence = 0;  // the last packet fed to the detector
    bool detected_any = false;
    int detected_samples = 0;  // what that packet decoded to (8 kHz samples)
    char event_digit = 0;
    std::uint32_t event_start = 0;     // RTP timestamp of the digit's first packet
    std::uint32_t event_duration = 0;  // in timestamp units
    int event_end_packets = 0;         // end packets still to send (3, RFC 4733 2.5.1.4)
    bool event_active = false;
    std::uint32_t event_out_start = 0;  // transcoded: the digit's start on the output timeline
    // Key presses reported to the call (relay_digits.cpp): RFC 4733 events, or in-band digits
    // from the detector above; and key presses we send it (send_digit), as events or tones.
    std::function<void(char)> digit_sink;
    std::uint32_t sink_event_timestamp = 0;
    bool sink_event_seen = false;
    std::unique_ptr<dsp::TelephoneEventSender> event_sender;
    char digit_out = 0;
    int digit_ticks = 0;   // 20 ms ticks the digit we send still lasts
    int digit_length = 0;  // and lasts in all

    std::unique_ptr<codec::Encoder> player_encoder;
    std::uint32_t player_generation = 0;  // codecs_generation the encoder was made for
    std::uint32_t player_ssrc = 0;
    std::uint16_t player_sequence = 0;
    std::uint32_t player_timestamp = 0;

    // In a conference (conference_room.h): what the port receives goes to the room, which sends
    // the far end its mix itself; nothing is forwarded or played to the port meanwhile.
    std::shared_ptr<ConferenceRoom> room;
    std::uint32_t member = 0;
    SockAddr room_destination;  // where the room was last told to send

    // Recording (recorder.h): what the far end sends also goes to this channel of the file.
    std::shared_ptr<RecordingFile> recording;
    int recording_channel = 0;

    int receives_armed = 0;  // multishot receives not yet ended (RTP and RTCP)
    bool closing = false;
    bool dirty = false;  // counters changed since the last publication

    PortStats counters;  // the worker's copy
    std::shared_ptr<StatsBox> box = std::make_shared<StatsBox>();
};

struct WorkerCommand {
    enum class Kind : std::uint8_t {
        add,
        set_remote,
        forward,
        close,
        set_codecs,
        play,
        join_room,
        leave_room,
        add_room,  // `room` is ticked by this worker from now on (port: nullptr)
        watch_digits,
        send_digit,
        record,
        room_key,  // a key pressed out of band, for the port's room
    };
    WorkerCommand(Kind k, PortState* p) : kind(k), port(p) {}
    Kind kind;
    PortState* port = nullptr;
    PortState* to = nullptr;
    std::unique_ptr<PortState> owned;          // add
    RemoteSpec spec;                           // set_remote
    PortCodecs codecs;                         // set_codecs
    std::unique_ptr<dsp::AudioSource> source;  // play
    std::shared_ptr<ConferenceRoom> room;      // join_room (reserved), add_room
    ConferenceOptions conference;              // join_room
    std::function<void(char)> digit_sink;      // watch_digits
    std::function<void()> on_end;              // play: called when the source ends
    char digit = 0;                            // send_digit, room_key
    int duration_ms = 0;                       // send_digit
    std::shared_ptr<RecordingFile> recording;  // record (nullptr: stop)
    int channel = 0;                           // record
};

class RelayWorker {
  public:
    // Starts the thread with its ring and `buffers` receive buffers (rounded up to a power of 2).
    static Result<std::unique_ptr<RelayWorker>> create(unsigned buffers,
                                                       std::int64_t report_interval_ms);
    ~RelayWorker();  // stops and joins the thread, closes every port
    RelayWorker(const RelayWorker&) = delete;
    RelayWorker& operator=(const RelayWorker&) = delete;

    void post(WorkerCommand command);  // any thread

    std::atomic<std::uint64_t> relayed{0};
    std::atomic<std::uint64_t> dropped{0};
    std::atomic<std::uint64_t> send_errors{0};
    std::atomic<std::uint64_t> open_ports{0};
    std::atomic<std::uint64_t> wakeups{0};
    std::atomic<std::uint64_t> transcoded{0};  // loop turns that found completions

  private:
    RelayWorker() = default;
    std::string start();  // "" or why the ring could not be set up
    void run();
    void apply_commands();
    void apply(WorkerCommand& c);
    void arm_receive(PortState& p, bool rtcp);
    void on_receive(const io_uring_cqe& cqe, PortState& p, bool rtcp);
    void on_rtp(PortState& p, unsigned bid, std::uint8_t* data, std::size_t size,
                const SockAddr& source);
    void on_rtcp(PortState& p, const std::uint8_t* data, std::size_t size, const SockAddr& source);
    void on_receive_ended(PortState& p, bool rtcp);
    void send_buffer(PortState& via, const SockAddr& to, unsigned bid, std::uint8_t* data,
                     std::size_t size);
    // The codec decisions of on_rtp (relay_codecs.cpp): relays a packet whose format the
    // target is sent (renumbering its payload type), transcodes one it is not, drops the rest.
    void forward_packet(PortState& from, PortState& to, unsigned bid, RtpHeader& h);
    void transcode(PortState& from, PortState& to, const PayloadFormat& in, RtpHeader& h);
    Transcoder* transcoder_for(PortState& from, PortState& to, const PayloadFormat& in);
    // Buffers of our own for packets we make (transcoded), ids above the receive buffers.
    std::uint8_t* own_buffer(unsigned id);
    std::optional<unsigned> take_own_buffer();
    void recycle(unsigned bid);
    void sends_submitted();
    io_uring_sqe* sqe();
    void update_file(unsigned slot, int* fd);  // fd must stay valid until the next submission
    void publish_stats();
    void start_playing(PortState& p, std::unique_ptr<dsp::AudioSource> source);
    bool plays(const PortState& p) const {
        return p.source || (p.dtmf && p.dtmf->active()) || p.event_sender;
    }
    // Digits (relay_digits.cpp).
    void report_digits(PortState& p, const RtpHeader& h);
    // Feeds a packet of a leg without telephone-event to its DTMF detector (once per packet) and
    // updates the digit in progress; false when the format cannot be decoded.
    bool detect_in_band(PortState& p, const RtpHeader& h, const PayloadFormat& in);
    // For a transcoded leg: when a digit detected in `from`'s audio is in progress (or ending),
    // sends an RFC 4733 packet in place of the next transcoded frame (`units` long on the
    // transcoder's timeline) and returns true.
    bool transcoded_event(PortState& from, PortState& to, Transcoder& t, std::uint32_t units);
    void send_digit(PortState& p, char digit, int duration_ms);
    bool send_digit_tick(PortState& p);  // one tick of send_digit's events; false: none
    void telephone_event_in_band(PortState& to, const RtpHeader& h);
    // True when the packet was turned into (or replaced by) an RFC 4733 event and sent.
    bool in_band_to_event(PortState& from, PortState& to, unsigned bid, RtpHeader& h,
                          const PayloadFormat& in);
    void tick();  // every 20 ms while anything plays: one frame per playing port, rooms
    bool ticking() const { return !playing_.empty() || !rooms_.empty(); }
    // Conferences (relay_conference.cpp).
    void join_room(PortState& p, std::shared_ptr<ConferenceRoom> room,
                   const ConferenceOptions& options);
    void leave_room(PortState& p);
    void update_room(PortState& p);  // tells the room a new destination or codecs
    void to_room(PortState& p, const RtpHeader& h);
    void tick_rooms();
    void send_to_fd(int fd, const SockAddr& to, unsigned bid, std::uint8_t* data, std::size_t size);
    void connect_to(PortState& p, const SockAddr& to);  // empty `to`: disconnect
    void count_received(PortState& p, const RtpHeader& h);
    void send_reports();
    void send_report(PortState& p);
    void destroy(PortState& p);

    io_uring ring_{};
    bool ring_ready_ = false;
    // Provided receive buffers (IORING_REGISTER_PBUF_RING): the kernel picks one per packet.
    io_uring_buf_ring* buf_ring_ = nullptr;
    std::size_t buf_ring_bytes_ = 0;
    unsigned buffers_ = 0;
    std::unique_ptr<std::uint8_t[]> buffer_memory_;
    unsigned recycled_ = 0;             // added to the ring since the last advance
    std::vector<SockAddr> send_to_;     // per buffer: where its send goes, alive until completion
    std::vector<unsigned> free_slots_;  // of the registered file table
    std::vector<unsigned> sending_;     // buffers of sends queued but not yet submitted
    static constexpr unsigned kOwnBuffers = 1024;
    std::unique_ptr<std::uint8_t[]> own_memory_;
    std::vector<unsigned> own_free_;
    msghdr receive_template_{};  // how multishot recvmsg lays out name and payload

    int event_fd_ = -1;
    std::uint64_t event_value_ = 0;
    std::mutex mu_;
    std::vector<WorkerCommand> pending_;
    std::vector<WorkerCommand> applying_;
    std::atomic<bool> stop_{false};
    std::thread thread_;

    std::vector<std::unique_ptr<PortState>> ports_;
    std::vector<PortState*> playing_;                     // ports with a source
    std::vector<std::shared_ptr<ConferenceRoom>> rooms_;  // whose home this worker is
    std::int64_t next_tick_ns_ = 0;
    std::int64_t now_ns_ = 0;
    std::int64_t next_publish_ns_ = 0;
    std::int64_t report_interval_ns_ = 5'000'000'000;
};

}  // namespace sb::media::rtp
