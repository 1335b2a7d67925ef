#include "conference_room.h"

#include "decoded_leg.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <random>

#include "sb/media/dsp/prompt.h"
#include "sb/media/dsp/telephone_event.h"
#include "sb/media/dsp/tone_generator.h"
#include "sb/media/rtp/rtp_header.h"

namespace sb::media::rtp {

namespace {

dsp::MixerConfig mixer_config() {
    dsp::MixerConfig c;
    c.sample_rate = ConferenceRoom::kSampleRate;
    c.max_participants = ConferenceRoom::kMaxParticipants;
    return c;
}

// What the participant alone hears when the mute key toggles: one low beep for muted, one high
// one for unmuted (the convention of most conference bridges' menus).
dsp::ToneSpec mute_beep(bool muted) {
    return dsp::ToneSpec{}.add(muted ? 440.0f : 880.0f, -16.0f).on(180).off(20).repeat(1);
}

bool same_format(const PayloadFormat& a, const PayloadFormat& b) {
    return a.payload_type == b.payload_type && a.encoding == b.encoding &&
           a.clock_rate == b.clock_rate && a.fmtp == b.fmtp;
}

}  // namespace

struct ConferenceRoom::Participant {
    std::uint32_t member = 0;
    int fd = -1;
    SockAddr to;
    PortCodecs codecs;
    ConferenceOptions options;
    dsp::ParticipantId id;
    bool muted = false;

    // Receiving: its audio decoded at the room's rate, one frame per tick.
    DecodedLeg audio{kSampleRate};
    std::array<std::int16_t, kFrame> input{};

    // The mute key: RFC 4733 events (one toggle per event: its packets share a timestamp), or
    // in-band DTMF for a leg without telephone-event.
    std::uint32_t last_event_timestamp = 0;
    bool event_seen = false;
    std::optional<dsp::DtmfDetector> detector;
    std::optional<codec::Resampler> to_8k;
    std::array<std::int16_t, kFrame> detector_frame{};

    // Sending: its own encoder (while it talks, or hears something of its own), our own stream.
    Encoding encoding;
    std::optional<dsp::ToneGenerator> beep;
    // What it alone hears besides the mix: the alone prompt, then music while it is alone.
    std::unique_ptr<dsp::PromptSource> announcement;
    bool music = false;                  // `announcement` is the looping music_when_alone
    std::shared_ptr<RoomStream> stream;  // its SSRC, and what was sent (for its port's RTCP)
    std::uint16_t out_sequence = 0;
    std::uint32_t out_timestamp = 0;
    bool first_sent = false;
    bool gap = false;  // frames went unsent since the last packet: the next one has the marker
};

ConferenceRoom::ConferenceRoom(std::string name) : name_(std::move(name)), mixer_(mixer_config()) {
    packets_.reserve(64);
    applying_packets_.reserve(64);
    participants_.reserve(16);
}

ConferenceRoom::~ConferenceRoom() {
    for (auto& p : participants_) close(p->fd);
    for (auto* list : {&controls_, &applying_controls_})
        for (auto& c : *list)
            if (c.fd >= 0) close(c.fd);
}

bool ConferenceRoom::reserve() {
    std::lock_guard lock(mu_);
    if (closed_ || reserved_ >= kMaxParticipants) return false;
    ++reserved_;
    return true;
}

void ConferenceRoom::cancel_reservation() {
    std::lock_guard lock(mu_);
    if (reserved_ > 0) --reserved_;
}

std::size_t ConferenceRoom::reserved() const {
    std::lock_guard lock(mu_);
    return reserved_;
}

bool ConferenceRoom::closed() const {
    std::lock_guard lock(mu_);
    return closed_;
}

void ConferenceRoom::post_join(std::uint32_t member, int fd, const PortCodecs& codecs,
                               const SockAddr& to, const ConferenceOptions& options,
                               std::shared_ptr<RoomStream> stream) {
    Control c;
    c.kind = Control::Kind::join;
    c.member = member;
    c.fd = fd;
    c.codecs = codecs;
    c.to = to;
    c.options = options;
    c.stream = std::move(stream);
    std::lock_guard lock(mu_);
    controls_.push_back(std::move(c));
}

void ConferenceRoom::post_update(std::uint32_t member, const PortCodecs& codecs,
                                 const SockAddr& to) {
    Control c;
    c.kind = Control::Kind::update;
    c.member = member;
    c.codecs = codecs;
    c.to = to;
    std::lock_guard lock(mu_);
    controls_.push_back(std::move(c));
}

void ConferenceRoom::post_leave(std::uint32_t member) {
    Control c;
    c.kind = Control::Kind::leave;
    c.member = member;
    std::lock_guard lock(mu_);
    controls_.push_back(std::move(c));
}

void ConferenceRoom::post_key(std::uint32_t member, char digit) {
    Control c;
    c.kind = Control::Kind::key;
    c.member = member;
    c.digit = digit;
    std::lock_guard lock(mu_);
    controls_.push_back(std::move(c));
}

void ConferenceRoom::post_packet(std::uint32_t member, std::uint32_t ssrc, std::uint16_t sequence,
                                 std::uint32_t timestamp, std::uint8_t payload_type, bool marker,
                                 std::span<const std::uint8_t> payload, std::int64_t arrival_ms) {
    if (payload.size() > JitterBuffer::kMaxPayload) return;
    std::lock_guard lock(mu_);
    if (packets_.size() >= kMaxInbox) {  // the home worker is stalled: drop, never grow
        ++inbox_dropped_;
        return;
    }
    Packet& p = packets_.emplace_back();
    p.member = member;
    p.ssrc = ssrc;
    p.sequence = sequence;
    p.timestamp = timestamp;
    p.payload_type = payload_type;
    p.marker = marker;
    p.size = static_cast<std::uint16_t>(payload.size());
    p.arrival_ms = arrival_ms;
    std::copy(payload.begin(), payload.end(), p.payload.begin());
}

ConferenceStats ConferenceRoom::stats() const {
    std::lock_guard lock(mu_);
    ConferenceStats s = stats_;
    s.inbox_dropped = inbox_dropped_;
    return s;
}

ConferenceRoom::Participant* ConferenceRoom::find(std::uint32_t member) {
    for (auto& p : participants_)
        if (p->member == member) return p.get();
    return nullptr;
}

void ConferenceRoom::apply(Control& c) {
    switch (c.kind) {
        case Control::Kind::join: {
            auto id = mixer_.join();
            if (!id) {  // cannot happen within kMaxParticipants reservations; never leak the fd
                close(c.fd);
                std::lock_guard lock(mu_);
                if (reserved_ > 0) --reserved_;
                return;
            }
            auto p = std::make_unique<Participant>();
            p->member = c.member;
            p->fd = c.fd;
            c.fd = -1;
            p->to = c.to;
            p->codecs = std::move(c.codecs);
            p->options = c.options;
            p->id = *id;
            p->muted = c.options.muted;
            mixer_.set_muted(p->id, p->muted);
            std::random_device random;
            p->stream = c.stream ? std::move(c.stream) : std::make_shared<RoomStream>(random());
            p->out_sequence = static_cast<std::uint16_t>(random());
            p->out_timestamp = random();
            if (c.options.chimes && !participants_.empty())
                mixer_.play_to_all(dsp::ChimeKind::join);
            if (participants_.empty() && c.options.alone_prompt)
                p->announcement = std::make_unique<dsp::PromptSource>(c.options.alone_prompt);
            participants_.push_back(std::move(p));
            break;
        }
        case Control::Kind::update:
            if (Participant* p = find(c.member)) {
                p->to = c.to;
                p->codecs = std::move(c.codecs);
            }
            break;
        case Control::Kind::key:
            if (Participant* p = find(c.member)) on_digit(*p, c.digit);
            break;
        case Control::Kind::leave: {
            auto it = std::find_if(participants_.begin(), participants_.end(),
                                   [&](const auto& p) { return p->member == c.member; });
            if (it == participants_.end()) break;
            const bool chime = (*it)->options.chimes;
            mixer_.leave((*it)->id);
            close((*it)->fd);
            participants_.erase(it);
            if (chime && !participants_.empty()) mixer_.play_to_all(dsp::ChimeKind::leave);
            std::lock_guard lock(mu_);
            if (reserved_ > 0) --reserved_;
            break;
        }
    }
}

void ConferenceRoom::receive(Participant& p, const Packet& packet) {
    const std::span<const std::uint8_t> payload(packet.payload.data(), packet.size);
    const auto& te = p.codecs.telephone_event;
    if (te && te->payload_type == packet.payload_type) {
        auto event = dsp::parse_telephone_event(payload);
        if (!event) return;
        // Each event's packets share its timestamp: act on the first one seen.
        if (p.event_seen && p.last_event_timestamp == packet.timestamp) return;
        p.event_seen = true;
        p.last_event_timestamp = packet.timestamp;
        if (auto digit = dsp::digit_for_event(event->event)) on_digit(p, *digit);
        return;
    }
    auto format =
        std::find_if(p.codecs.receive.begin(), p.codecs.receive.end(),
                     [&](const PayloadFormat& f) { return f.payload_type == packet.payload_type; });
    if (format == p.codecs.receive.end()) return;  // comfort noise, or not negotiated
    p.audio.push(*format, packet.ssrc, packet.sequence, packet.timestamp, packet.marker, payload,
                 packet.arrival_ms);
}

void ConferenceRoom::on_digit(Participant& p, char digit) {
    if (p.options.mute_key == 0 || digit != p.options.mute_key) return;
    p.muted = !p.muted;
    mixer_.set_muted(p.id, p.muted);
    p.beep.emplace(mute_beep(p.muted), kSampleRate);
}

void ConferenceRoom::update_music() {
    const bool alone = participants_.size() == 1;
    for (auto& p : participants_) {
        if (p->music && !alone) {
            p->announcement.reset();  // company came: the music stops
            p->music = false;
        } else if (alone && !p->announcement && p->options.music_when_alone) {
            p->announcement =
                std::make_unique<dsp::PromptSource>(p->options.music_when_alone, /*loop=*/true);
            p->music = true;
        }
    }
}

void ConferenceRoom::add_private_audio(Participant& p, std::span<std::int16_t> frame) {
    std::array<std::int16_t, kFrame> extra;
    auto add = [&] {
        for (std::size_t i = 0; i < kFrame; ++i)
            frame[i] = static_cast<std::int16_t>(std::clamp(frame[i] + extra[i], -32768, 32767));
    };
    if (p.announcement) {
        if (p.announcement->read(extra, kSampleRate))
            add();
        else
            p.announcement.reset();  // ended: music (if any) starts at the next tick
    }
    if (p.beep) {
        p.beep->generate(extra);
        add();
        if (p.beep->finished()) p.beep.reset();
    }
}

void ConferenceRoom::decode_frame(Participant& p, std::int64_t now_ms) {
    std::span<std::int16_t> frame = p.input;
    if (!p.audio.pull(frame, now_ms)) return;  // silent this tick
    std::span<std::int16_t> in = mixer_.input(p.id);
    std::copy(frame.begin(), frame.end(), in.begin());

    // In-band DTMF for the mute key, from a leg that cannot send RFC 4733.
    if (p.options.mute_key != 0 && !p.codecs.telephone_event) {
        if (!p.detector) {
            auto d = dsp::DtmfDetector::create();
            auto r = codec::Resampler::create(kSampleRate, dsp::DtmfDetector::kSampleRate);
            if (!d || !r) return;
            p.detector.emplace(std::move(*d));
            p.to_8k.emplace(std::move(*r));
        }
        const int m = p.to_8k->process(in, p.detector_frame);
        if (m > 0) p.detector->process({p.detector_frame.data(), static_cast<std::size_t>(m)});
        while (auto e = p.detector->pop())
            if (!e->end) on_digit(p, e->digit);
    }
}

bool ConferenceRoom::Encoding::prepare(const PayloadFormat& f) {
    if (format && same_format(*format, f)) return encoder != nullptr;
    encoder.reset();
    down.reset();
    format = f;
    auto id = codec::codec_from_sdp(f.encoding, f.clock_rate, f.channels);
    if (!id) return false;
    codec::EncoderOptions options;
    if (*id == codec::CodecId::opus) {
        if (auto o = codec::apply_opus_fmtp(f.fmtp, options)) options = *o;
        options.sample_rate = kSampleRate;  // the room's rate: no resampler
    }
    auto made = codec::make_encoder(*id, options);
    if (!made) return false;
    if ((*made)->sample_rate() != kSampleRate) {
        auto r = codec::Resampler::create(kSampleRate, (*made)->sample_rate());
        if (!r) return false;
        down.emplace(std::move(*r));
    }
    encoder = std::move(*made);
    return true;
}

int ConferenceRoom::Encoding::encode(std::span<const std::int16_t> frame,
                                     std::span<std::uint8_t> out) {
    std::array<std::int16_t, kFrame> resampled;
    std::span<const std::int16_t> pcm = frame;
    if (down) {
        const int n = down->process(frame, resampled);
        if (n <= 0) return n;
        pcm = {resampled.data(), static_cast<std::size_t>(n)};
    }
    return encoder->encode(pcm, out);
}

std::span<const std::uint8_t> ConferenceRoom::encode_for(Participant& p, std::uint8_t* scratch) {
    const PayloadFormat& f = *p.codecs.send;
    const std::span<const std::int16_t> mixed = mixer_.output(p.id);
    // Everyone outside the mix hears the same frame (mixer.h): those of them that take the same
    // format share one encode, as Asterisk's softmix bridge does, so a tick encodes once per
    // format plus once per active speaker rather than once per participant. An encoder's state
    // follows the stream it made; a listener who starts talking switches to its own encoder,
    // which its decoder conceals like a lost frame at worst.
    if (!p.beep && !p.announcement && !mixer_.speaking(p.id)) {
        auto shared = std::find_if(shared_.begin(), shared_.end(), [&](const SharedEncoding& e) {
            return e.encoding.format && same_format(*e.encoding.format, f);
        });
        if (shared == shared_.end()) {
            shared_.emplace_back();
            shared = shared_.end() - 1;
            if (!shared->encoding.prepare(f)) return {};
        }
        if (shared->encoding.encoder) {
            if (shared->tick != counters_.ticks + 1) {
                shared->tick = counters_.ticks + 1;
                std::copy(mixed.begin(), mixed.end(), shared->pcm.begin());
                shared->bytes = shared->encoding.encode(mixed, shared->payload);
            }
            if (std::equal(mixed.begin(), mixed.end(), shared->pcm.begin())) {
                if (shared->bytes <= 0) return {};
                return {shared->payload.data(), static_cast<std::size_t>(shared->bytes)};
            }
        }
    }
    if (!p.encoding.prepare(f)) return {};
    std::array<std::int16_t, kFrame> frame;
    std::copy(mixed.begin(), mixed.end(), frame.begin());
    add_private_audio(p, frame);
    const int bytes = p.encoding.encode(frame, {scratch, kMaxPayload});
    if (bytes <= 0) return {};
    return {scratch, static_cast<std::size_t>(bytes)};
}

void ConferenceRoom::send_frame(Participant& p, const Send& send, std::int64_t now_ns) {
    if (!p.codecs.send) return;
    const PayloadFormat& f = *p.codecs.send;
    // The stream's clock runs on through frames we do not send (hold, a frame that did not
    // encode), as RFC 3550 5.1 has it, and the packet after such a gap has the marker bit: the
    // phone's jitter buffer sees a talkspurt, not a late stream.
    const auto frame_units = static_cast<std::uint32_t>(f.clock_rate / 50);  // the rtpmap's clock
    std::array<std::uint8_t, kRtpHeaderSize + kMaxPayload> packet;
    std::array<std::uint8_t, kMaxPayload> scratch;
    const std::span<const std::uint8_t> payload =
        p.to.empty() ? std::span<const std::uint8_t>{} : encode_for(p, scratch.data());
    if (payload.empty()) {
        if (p.first_sent) {
            p.out_timestamp += frame_units;
            p.gap = true;
        }
        return;
    }
    std::copy(payload.begin(), payload.end(), packet.begin() + kRtpHeaderSize);
    const bool marker = !p.first_sent || p.gap;
    packet[0] = 0x80;
    packet[1] = static_cast<std::uint8_t>((f.payload_type & 0x7f) | (marker ? 0x80 : 0));
    store16(packet.data() + 2, p.out_sequence++);
    store32(packet.data() + 4, p.out_timestamp);
    store32(packet.data() + 8, p.stream->ssrc());
    p.stream->on_sent(p.out_timestamp, payload.size(), f.clock_rate, now_ns);
    p.out_timestamp += frame_units;
    p.first_sent = true;
    p.gap = false;
    send(p.fd, p.to, {packet.data(), kRtpHeaderSize + payload.size()});
    ++counters_.packets_sent;
}

bool ConferenceRoom::tick(std::int64_t now_ns, const Send& send) {
    const std::int64_t now_ms = now_ns / 1'000'000;
    {
        std::lock_guard lock(mu_);
        applying_controls_.swap(controls_);
        applying_packets_.swap(packets_);
    }
    for (auto& c : applying_controls_) apply(c);
    applying_controls_.clear();
    update_music();
    for (const Packet& packet : applying_packets_)
        if (Participant* p = find(packet.member)) {
            ++counters_.packets_in;
            receive(*p, packet);
        }
    applying_packets_.clear();

    for (auto& p : participants_) decode_frame(*p, now_ms);
    mixer_.mix();
    for (auto& p : participants_) send_frame(*p, send, now_ns);
    ++counters_.ticks;
    counters_.participants = participants_.size();

    std::lock_guard lock(mu_);
    stats_ = counters_;
    if (reserved_ == 0 && participants_.empty() && controls_.empty()) {
        closed_ = true;
        return false;
    }
    return true;
}

}  // namespace sb::media::rtp
