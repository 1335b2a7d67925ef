// sb_transcode_bench: Opus <-> PCMU transcoding through Switchboard's relay, end to end (RTP in,
// decode, encode, RTP out), for a figure beside ../shared/anchors/codec-limits' raw codec cost.
//
// N calls, each an Opus leg and a PCMU leg on the relay (the same API the media sessions use:
// set_codecs, set_remote, forward_to). A generator thread in this process plays two phones per
// call: "A" sends Opus packets of the anchors' speech clip (encoded beforehand at 48 kHz,
// complexity 5) and "B" the same clip in PCMU, 50 packets per second each, every call offset in
// the 20 ms; both receive what the relay sends back and count it. The relay's own threads'
// CPU time (/proc/self/task, threads named sb-relay) over the window gives its cost per call and
// 20 ms: one call is one "channel" in codec-limits' terms (a leg transcoded both ways).
//
//   sb_transcode_bench SPEECH48.raw SPEECH8.raw [-n CALLS] [-s SECONDS] [-c COMPLEXITY] [-f FEC]
//
// -c sets the phones' encoder; the relay's Opus encoder runs at its default complexity (5), the
// anchor's comparable line. -f 0 asks for no in-band FEC (the anchor encodes without it).
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "sb/media/codec/codec.h"
#include "sb/media/codec/g711.h"
#include "sb/media/rtp/relay.h"
#include "sb/media/rtp/rtp_header.h"
#include "sb/media/rtp/sock_addr.h"

using namespace sb::media;  // NOLINT: a small program
using sb::bench::read_raw;
using sb::bench::relay_cpu_seconds;
using sb::bench::udp_socket;

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: %s SPEECH48.raw SPEECH8.raw [-n CALLS] [-s SECONDS] [-c COMPLEXITY]\n",
                     argv[0]);
        return 2;
    }
    int calls = 50, seconds = 10, complexity = 5, fec = 1;
    for (int i = 3; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "-n")
            calls = std::atoi(argv[i + 1]);
        else if (k == "-s")
            seconds = std::atoi(argv[i + 1]);
        else if (k == "-c")
            complexity = std::atoi(argv[i + 1]);
        else if (k == "-f")
            fec = std::atoi(argv[i + 1]);
    }
    const auto speech48 = read_raw(argv[1]);
    const auto speech8 = read_raw(argv[2]);
    const std::size_t frames = std::min(speech48.size() / 960, speech8.size() / 160);
    if (frames < 50) {
        std::fprintf(stderr, "speech clips too short\n");
        return 1;
    }
    // The phones' packets, made once: Opus (48 kHz, the relay's options for complexity) and PCMU.
    codec::EncoderOptions opus_options;
    opus_options.complexity = complexity;
    auto enc = codec::make_encoder(codec::CodecId::opus, opus_options).value();
    std::vector<std::vector<std::uint8_t>> opus_frames(frames), pcmu_frames(frames);
    for (std::size_t f = 0; f < frames; ++f) {
        std::uint8_t buf[4000];
        const int n = enc->encode({speech48.data() + f * 960, 960}, buf);
        opus_frames[f].assign(buf, buf + std::max(n, 0));
        pcmu_frames[f].resize(160);
        codec::ulaw_encode({speech8.data() + f * 160, 160}, pcmu_frames[f]);
    }

    rtp::RelayConfig cfg;
    cfg.port_min = 40000;
    cfg.port_max = 44999;
    auto relay = rtp::Relay::start(cfg).value();
    rtp::SockAddr a_addr, b_addr;
    const int a_fd = udp_socket(a_addr), b_fd = udp_socket(b_addr);
    // The Opus leg's fmtp decides the relay's encoder: FEC as the phone asks (RFC 7587).
    const rtp::PayloadFormat opus{111, "opus", 48000, 2, fec ? "useinbandfec=1" : "useinbandfec=0"};
    const rtp::PayloadFormat pcmu{0, "PCMU", 8000, 1, ""};
    std::vector<std::unique_ptr<rtp::MediaPort>> ports;
    std::vector<rtp::SockAddr> a_dest, b_dest;
    for (int i = 0; i < calls; ++i) {
        auto a = relay->open(static_cast<std::uint64_t>(i)).value();
        auto b = relay->open(static_cast<std::uint64_t>(i)).value();
        rtp::RemoteSpec ra, rb;
        ra.rtp = a_addr.endpoint();
        ra.clock_rate = 48000;
        rb.rtp = b_addr.endpoint();
        a->set_remote(ra);
        b->set_remote(rb);
        a->set_codecs({{opus}, opus, std::nullopt});
        b->set_codecs({{pcmu}, pcmu, std::nullopt});
        a->forward_to(b.get());
        b->forward_to(a.get());
        a_dest.push_back(rtp::SockAddr::from(*sb::Endpoint::from_ip("127.0.0.1", a->rtp_port())));
        b_dest.push_back(rtp::SockAddr::from(*sb::Endpoint::from_ip("127.0.0.1", b->rtp_port())));
        ports.push_back(std::move(a));
        ports.push_back(std::move(b));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));

    // Receivers: count what comes back on each side, and how long after its source packet was
    // sent (packets map one to one: the k-th out of a call's port answers the k-th sent to its
    // peer port). Monotonic clock in user space on both ends: an upper bound of the delay.
    const std::size_t max_frames = static_cast<std::size_t>(seconds) * 50 + 200;
    std::vector<std::atomic<std::int64_t>> sent_at_a(static_cast<std::size_t>(calls) * max_frames);
    std::vector<std::atomic<std::int64_t>> sent_at_b(static_cast<std::size_t>(calls) * max_frames);
    std::map<std::uint16_t, std::size_t> call_of_port;  // relay port -> call
    for (std::size_t c = 0; c < static_cast<std::size_t>(calls); ++c) {
        call_of_port[a_dest[c].port()] = c;
        call_of_port[b_dest[c].port()] = c;
    }
    auto monotonic_ns = [] {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
    };
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> got_a{0}, got_b{0};
    std::vector<double> delays_us;
    delays_us.reserve(static_cast<std::size_t>(calls) * max_frames * 2);
    std::thread sink([&] {
        std::uint8_t buf[2048];
        std::vector<std::size_t> count_a(static_cast<std::size_t>(calls)), count_b(count_a);
        pollfd p[2] = {{a_fd, POLLIN, 0}, {b_fd, POLLIN, 0}};
        auto drain = [&](int fd, std::vector<std::size_t>& count,
                         std::vector<std::atomic<std::int64_t>>& sent_at,
                         std::atomic<std::uint64_t>& got) {
            rtp::SockAddr from;
            socklen_t len = sizeof(from.u);
            while (recvfrom(fd, buf, sizeof buf, 0, from.raw(), &len) > 0) {
                const std::int64_t now = monotonic_ns();
                ++got;
                auto it = call_of_port.find(from.port());
                len = sizeof(from.u);
                if (it == call_of_port.end()) continue;
                const std::size_t k = count[it->second]++;
                if (k >= max_frames) continue;
                const std::int64_t t = sent_at[it->second * max_frames + k].load();
                if (t > 0) delays_us.push_back(static_cast<double>(now - t) / 1000.0);
            }
        };
        while (!stop) {
            if (poll(p, 2, 50) <= 0) continue;
            drain(a_fd, count_a, sent_at_b, got_a);  // B's packets, transcoded, to A
            drain(b_fd, count_b, sent_at_a, got_b);  // A's packets, transcoded, to B
        }
    });
    // The generator: every millisecond, the calls whose 20 ms slot it is send one packet each
    // way (one sendmmsg per side).
    const int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    itimerspec tick{{0, 1'000'000}, {0, 1'000'000}};
    timerfd_settime(tfd, 0, &tick, nullptr);
    std::uint64_t sent = 0, ticks = 0;
    std::vector<std::vector<std::uint8_t>> pkt_a(static_cast<std::size_t>(calls)),
        pkt_b(static_cast<std::size_t>(calls));
    std::vector<std::uint32_t> frame_of(static_cast<std::size_t>(calls), 0);
    auto send_slot = [&](int slot) {
        std::vector<mmsghdr> ma, mb;
        std::vector<iovec> va, vb;
        ma.reserve(static_cast<std::size_t>(calls));
        mb.reserve(static_cast<std::size_t>(calls));
        va.reserve(static_cast<std::size_t>(calls));
        vb.reserve(static_cast<std::size_t>(calls));
        for (int i = slot; i < calls; i += 20) {
            const std::size_t c = static_cast<std::size_t>(i);
            const std::uint32_t f = frame_of[c]++;
            const auto& o = opus_frames[f % frames];
            const auto& u = pcmu_frames[f % frames];
            pkt_a[c].assign(12 + o.size(), 0);
            pkt_b[c].assign(12 + u.size(), 0);
            for (auto* p : {&pkt_a[c], &pkt_b[c]}) {
                (*p)[0] = 0x80;
                rtp::store16(p->data() + 2, static_cast<std::uint16_t>(f));
                rtp::store32(p->data() + 8, 0x1000 + static_cast<std::uint32_t>(i));
            }
            pkt_a[c][1] = 111;
            rtp::store32(pkt_a[c].data() + 4, f * 960);
            std::memcpy(pkt_a[c].data() + 12, o.data(), o.size());
            pkt_b[c][1] = 0;
            rtp::store32(pkt_b[c].data() + 4, f * 160);
            std::memcpy(pkt_b[c].data() + 12, u.data(), u.size());
            va.push_back({pkt_a[c].data(), pkt_a[c].size()});
            vb.push_back({pkt_b[c].data(), pkt_b[c].size()});
            mmsghdr h{};
            h.msg_hdr.msg_name = a_dest[c].raw();
            h.msg_hdr.msg_namelen = a_dest[c].size();
            ma.push_back(h);
            h.msg_hdr.msg_name = b_dest[c].raw();
            h.msg_hdr.msg_namelen = b_dest[c].size();
            mb.push_back(h);
        }
        for (std::size_t k = 0; k < ma.size(); ++k) {
            ma[k].msg_hdr.msg_iov = &va[k];
            ma[k].msg_hdr.msg_iovlen = 1;
            mb[k].msg_hdr.msg_iov = &vb[k];
            mb[k].msg_hdr.msg_iovlen = 1;
        }
        if (!ma.empty()) {
            const std::int64_t now = monotonic_ns();
            for (int i = slot; i < calls; i += 20) {
                const std::size_t c = static_cast<std::size_t>(i);
                const std::size_t k = frame_of[c] - 1;
                if (k < max_frames) {
                    sent_at_a[c * max_frames + k].store(now);
                    sent_at_b[c * max_frames + k].store(now);
                }
            }
            sendmmsg(a_fd, ma.data(), static_cast<unsigned>(ma.size()), 0);
            sendmmsg(b_fd, mb.data(), static_cast<unsigned>(mb.size()), 0);
        }
        sent += 2 * ma.size();
    };
    const double cpu0 = relay_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t want_ticks = static_cast<std::uint64_t>(seconds) * 1000;
    while (ticks < want_ticks) {
        std::uint64_t expirations = 0;
        if (read(tfd, &expirations, sizeof expirations) != sizeof expirations) break;
        for (std::uint64_t e = 0; e < expirations && ticks < want_ticks; ++e, ++ticks)
            send_slot(static_cast<int>(ticks % 20));
    }
    const double cpu1 = relay_cpu_seconds();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
    sink.join();
    const double cpu = cpu1 - cpu0;
    const double frames_per_call = wall * 50;  // 20 ms periods in the window
    const double us_per_call_period = 1e6 * cpu / (calls * frames_per_call);
    const std::uint64_t received = got_a + got_b;
    std::sort(delays_us.begin(), delays_us.end());
    auto percentile = [&](double q) {
        if (delays_us.empty()) return -1.0;
        return delays_us[static_cast<std::size_t>(q * static_cast<double>(delays_us.size() - 1))];
    };
    const auto t = relay->totals();
    std::printf(
        "RESULT calls=%d fec=%d window_s=%.2f sent=%llu received=%llu loss_pct=%.3f "
        "relay_cpu_s=%.3f relay_core=%.3f us_per_channel_20ms=%.1f channels_per_core=%.0f "
        "transcoded=%llu relayed=%llu dropped=%llu delay_p50_us=%.0f delay_p99_us=%.0f\n",
        calls, fec, wall, static_cast<unsigned long long>(sent),
        static_cast<unsigned long long>(received),
        sent ? 100.0 * (static_cast<double>(sent) - static_cast<double>(received)) /
                   static_cast<double>(sent)
             : 0.0,
        cpu, cpu / wall, us_per_call_period, 20000.0 / us_per_call_period,
        static_cast<unsigned long long>(t.packets_transcoded),
        static_cast<unsigned long long>(t.packets_relayed),
        static_cast<unsigned long long>(t.packets_dropped), percentile(0.5), percentile(0.99));
    close(tfd);
    close(a_fd);
    close(b_fd);
    return 0;
}
