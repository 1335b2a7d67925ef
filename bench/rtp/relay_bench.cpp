// sb_relay_bench: Switchboard's RTP relay set up for the anchors' generator
// (../shared/anchors/rtp-relay/rtpgen.c). It opens N calls' port pairs through the same API the
// media sessions use (Relay::open, set_remote, forward_to), writes the generator's port file
// (A_LOCAL B_LOCAL A_DEST B_DEST per stream) and relays until SIGTERM/SIGINT. The generator's
// A side of stream i is port a_base + i; every stream's B side is one shared port (the anchor's
// default "--share b"), as rtpengine is measured.
//
//   sb_relay_bench -n N -o PORTFILE [-a A_BASE] [-b B_PORT] [-w WORKERS] [--min P --max P]
#include <unistd.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "sb/media/rtp/relay.h"

using namespace sb::media::rtp;  // NOLINT: a small program

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}
}  // namespace

int main(int argc, char** argv) {
    int n = 1000;
    std::string port_file;
    int a_base = 50000;
    int b_port = 49990;
    RelayConfig cfg;
    cfg.port_min = 20000;
    cfg.port_max = 45000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const char* v = argv[i + 1];
        if (k == "-n")
            n = std::atoi(v);
        else if (k == "-o")
            port_file = v;
        else if (k == "-a")
            a_base = std::atoi(v);
        else if (k == "-b")
            b_port = std::atoi(v);
        else if (k == "-w")
            cfg.workers = static_cast<unsigned>(std::atoi(v));
        else if (k == "--min")
            cfg.port_min = static_cast<std::uint16_t>(std::atoi(v));
        else if (k == "--max")
            cfg.port_max = static_cast<std::uint16_t>(std::atoi(v));
        else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (port_file.empty() || n <= 0 || a_base + n > 65535) {
        std::fprintf(stderr, "usage: %s -n N -o PORTFILE [-a A_BASE] [-b B_PORT] [-w WORKERS]\n",
                     argv[0]);
        return 2;
    }
    auto relay = Relay::start(cfg);
    if (!relay) {
        std::fprintf(stderr, "%s\n", relay.error().message.c_str());
        return 1;
    }
    std::vector<std::unique_ptr<MediaPort>> ports;
    std::ofstream out(port_file + ".tmp");
    out << "# A_LOCAL B_LOCAL A_DEST B_DEST (switchboard relay, " << n << " streams)\n";
    for (int i = 0; i < n; ++i) {
        auto a = (*relay)->open(static_cast<std::uint64_t>(i));
        auto b = (*relay)->open(static_cast<std::uint64_t>(i));
        if (!a || !b) {
            std::fprintf(stderr, "stream %d: %s\n", i,
                         (!a ? a.error() : b.error()).message.c_str());
            return 1;
        }
        RemoteSpec ra, rb;
        ra.rtp = sb::Endpoint::from_ip("127.0.0.1", static_cast<std::uint16_t>(a_base + i));
        rb.rtp = sb::Endpoint::from_ip("127.0.0.1", static_cast<std::uint16_t>(b_port));
        (*a)->set_remote(ra);
        (*b)->set_remote(rb);
        (*a)->forward_to(b->get());
        (*b)->forward_to(a->get());
        out << a_base + i << ' ' << b_port << ' ' << (*a)->rtp_port() << ' ' << (*b)->rtp_port()
            << '\n';
        ports.push_back(std::move(*a));
        ports.push_back(std::move(*b));
    }
    out.close();
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());  // appears complete
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::fprintf(stderr, "relaying %d streams (pid %d)\n", n, static_cast<int>(getpid()));
    while (!g_stop) pause();
    const RelayTotals t = (*relay)->totals();
    std::printf("TOTALS relayed=%llu dropped=%llu send_errors=%llu wakeups=%llu\n",
                static_cast<unsigned long long>(t.packets_relayed),
                static_cast<unsigned long long>(t.packets_dropped),
                static_cast<unsigned long long>(t.send_errors),
                static_cast<unsigned long long>(t.wakeups));
    return 0;
}
