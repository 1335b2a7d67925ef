// sb_conference_bench: one conference room of N participants in Switchboard's relay, end to end
// (RTP in, jitter buffer, decode, resample to 16 kHz, mix-minus, resample, encode, RTP out), for
// the CPU a 50-party conference costs.
//
// Each participant is a port on the relay joined to room "bench" through the same API the media
// sessions use (set_remote, set_codecs, join_conference). A generator thread in this process plays
// the phones: every participant sends 50 packets per second of the anchors' speech clip (each from
// its own point in the clip, so they do not talk in unison), or of silence for those beyond the
// first TALKERS; the phones of one codec share a socket that also counts what the room sends back.
// The relay threads' CPU time (/proc/self/task, threads named sb-relay) over the window gives the
// cost per 20 ms tick and per participant.
//
//   sb_conference_bench SPEECH48.raw SPEECH8.raw [-n PARTICIPANTS] [-s SECONDS]
//                       [-m pcmu|g722|opus|mixed] [-t TALKERS]
//
// mixed: a third each of PCMU, G.722 and Opus (the room resamples every one of them).
#include <poll.h>
#include <sys/timerfd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "sb/media/codec/codec.h"
#include "sb/media/codec/resampler.h"
#include "sb/media/rtp/relay.h"
#include "sb/media/rtp/rtp_header.h"
#include "sb/media/rtp/sock_addr.h"

using namespace sb::media;  // NOLINT: a small program

namespace {

struct Kind {
    codec::CodecId id;
    rtp::PayloadFormat format;
};

const Kind kKinds[] = {
    {codec::CodecId::pcmu, {0, "PCMU", 8000, 1, ""}},
    {codec::CodecId::g722, {9, "G722", 8000, 1, ""}},
    {codec::CodecId::opus, {111, "opus", 48000, 2, "useinbandfec=1"}},
};

// The clip's frames encoded once per codec: speech, and one frame of silence.
struct Encoded {
    std::vector<std::vector<std::uint8_t>> speech;
    std::vector<std::uint8_t> silence;
};

Encoded encode_clip(codec::CodecId id, const std::vector<std::int16_t>& speech48,
                    const std::vector<std::int16_t>& speech8, std::size_t frames) {
    auto encoder = codec::make_encoder(id).value();
    const int rate = encoder->sample_rate();
    const auto n = static_cast<std::size_t>(rate / 50);
    std::vector<std::int16_t> pcm16;
    if (rate == 16000) {
        auto down = codec::Resampler::create(48000, 16000).value();
        pcm16.resize(speech48.size() / 3 + 64);
        for (std::size_t f = 0; f < frames; ++f)
            down.process({speech48.data() + f * 960, 960}, {pcm16.data() + f * 320, 400});
    }
    Encoded e;
    std::uint8_t buf[4000];
    for (std::size_t f = 0; f < frames; ++f) {
        const std::int16_t* src = rate == 48000   ? speech48.data() + f * 960
                                  : rate == 16000 ? pcm16.data() + f * 320
                                                  : speech8.data() + f * 160;
        const int bytes = encoder->encode({src, n}, buf);
        e.speech.emplace_back(buf, buf + std::max(bytes, 0));
    }
    std::vector<std::int16_t> zeros(n);
    const int bytes = encoder->encode(zeros, buf);
    e.silence.assign(buf, buf + std::max(bytes, 0));
    return e;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: %s SPEECH48.raw SPEECH8.raw [-n PARTICIPANTS] [-s SECONDS] "
                     "[-m pcmu|g722|opus|mixed] [-t TALKERS]\n",
                     argv[0]);
        return 2;
    }
    int participants = 50, seconds = 10, talkers = -1;
    std::string mix = "mixed";
    for (int i = 3; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "-n")
            participants = std::atoi(argv[i + 1]);
        else if (k == "-s")
            seconds = std::atoi(argv[i + 1]);
        else if (k == "-m")
            mix = argv[i + 1];
        else if (k == "-t")
            talkers = std::atoi(argv[i + 1]);
    }
    if (talkers < 0) talkers = participants;
    const auto speech48 = sb::bench::read_raw(argv[1]);
    const auto speech8 = sb::bench::read_raw(argv[2]);
    const std::size_t frames = std::min(speech48.size() / 960, speech8.size() / 160);
    if (frames < 50) {
        std::fprintf(stderr, "speech clips too short\n");
        return 1;
    }
    std::vector<Encoded> clips;
    for (const Kind& k : kKinds) clips.push_back(encode_clip(k.id, speech48, speech8, frames));

    auto kind_of = [&](int i) -> std::size_t {
        if (mix == "pcmu") return 0;
        if (mix == "g722") return 1;
        if (mix == "opus") return 2;
        return static_cast<std::size_t>(i % 3);
    };

    rtp::RelayConfig cfg;
    cfg.port_min = 45000;
    cfg.port_max = 45999;
    auto relay = rtp::Relay::start(cfg).value();
    rtp::SockAddr phone_addr[3];
    int phone_fd[3];
    for (int k = 0; k < 3; ++k) phone_fd[k] = sb::bench::udp_socket(phone_addr[k]);
    std::vector<std::unique_ptr<rtp::MediaPort>> ports;
    std::vector<rtp::SockAddr> dest;
    for (int i = 0; i < participants; ++i) {
        const Kind& k = kKinds[kind_of(i)];
        auto port = relay->open(static_cast<std::uint64_t>(i)).value();
        rtp::RemoteSpec r;
        r.rtp = phone_addr[kind_of(i)].endpoint();
        r.clock_rate = k.format.clock_rate;
        port->set_remote(r);
        // Phones negotiate telephone-event (else the room listens for the mute key in-band).
        port->set_codecs({{k.format},
                          k.format,
                          rtp::PayloadFormat{101, "telephone-event", k.format.clock_rate, 1, ""}});
        ConferenceOptions options;
        options.chimes = false;
        if (!port->join_conference("bench", options)) {
            std::fprintf(stderr, "participant %d could not join\n", i);
            return 1;
        }
        dest.push_back(rtp::SockAddr::from(*sb::Endpoint::from_ip("127.0.0.1", port->rtp_port())));
        ports.push_back(std::move(port));
    }
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> received{0};
    std::thread sink([&] {
        std::uint8_t buf[2048];
        pollfd p[3] = {
            {phone_fd[0], POLLIN, 0}, {phone_fd[1], POLLIN, 0}, {phone_fd[2], POLLIN, 0}};
        while (!stop) {
            if (poll(p, 3, 50) <= 0) continue;
            for (int fd : phone_fd)
                while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) ++received;
        }
    });

    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // joins applied

    // The generator: every millisecond, the participants whose 20 ms slot it is send a packet.
    const int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    itimerspec tick{{0, 1'000'000}, {0, 1'000'000}};
    timerfd_settime(tfd, 0, &tick, nullptr);
    std::vector<std::uint32_t> frame_of(static_cast<std::size_t>(participants), 0);
    std::uint64_t sent = 0, ticks = 0;
    std::vector<std::uint8_t> packet(1500);
    auto send_slot = [&](int slot) {
        for (int i = slot; i < participants; i += 20) {
            const auto c = static_cast<std::size_t>(i);
            const std::size_t kind = kind_of(i);
            const std::uint32_t f = frame_of[c]++;
            const auto& payload =
                i < talkers ? clips[kind].speech[(f + 37 * c) % frames] : clips[kind].silence;
            packet[0] = 0x80;
            packet[1] = static_cast<std::uint8_t>(kKinds[kind].format.payload_type);
            rtp::store16(packet.data() + 2, static_cast<std::uint16_t>(f));
            rtp::store32(packet.data() + 4,
                         f * static_cast<std::uint32_t>(kKinds[kind].format.clock_rate / 50));
            rtp::store32(packet.data() + 8, 0x2000 + static_cast<std::uint32_t>(i));
            std::copy(payload.begin(), payload.end(), packet.begin() + 12);
            sendto(phone_fd[kind], packet.data(), 12 + payload.size(), 0, dest[c].raw(),
                   dest[c].size());
            ++sent;
        }
    };
    const double cpu0 = sb::bench::relay_cpu_seconds();
    const std::uint64_t received0 = received.load();
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t want_ticks = static_cast<std::uint64_t>(seconds) * 1000;
    while (ticks < want_ticks) {
        std::uint64_t expirations = 0;
        if (read(tfd, &expirations, sizeof expirations) != sizeof expirations) break;
        for (std::uint64_t e = 0; e < expirations && ticks < want_ticks; ++e, ++ticks)
            send_slot(static_cast<int>(ticks % 20));
    }
    const double cpu1 = sb::bench::relay_cpu_seconds();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::uint64_t got = received.load() - received0;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop = true;
    sink.join();
    const double cpu = cpu1 - cpu0;
    const double room_ticks = wall * 50;
    const double us_per_tick = 1e6 * cpu / room_ticks;
    const double expected = room_ticks * participants;
    std::printf(
        "RESULT participants=%d codecs=%s talkers=%d window_s=%.2f sent=%llu mixed_frames=%llu "
        "expected_frames=%.0f relay_cpu_s=%.3f relay_core=%.4f us_per_tick=%.1f "
        "us_per_participant_tick=%.2f rooms_of_this_size_per_core=%.1f\n",
        participants, mix.c_str(), std::min(talkers, participants), wall,
        static_cast<unsigned long long>(sent), static_cast<unsigned long long>(got), expected, cpu,
        cpu / wall, us_per_tick, us_per_tick / participants, 20000.0 / us_per_tick);
    ports.clear();
    close(tfd);
    for (int fd : phone_fd) close(fd);
    return 0;
}
