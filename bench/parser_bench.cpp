// sb_parser_bench: Switchboard's SIP parser measured exactly the way ../shared/anchors/parser
// measures oSIP2 and sofia-sip, so the three can stand side by side in one table.
//
// Run:  taskset -c 1 ./sb_parser_bench [-t SECONDS] [-r REPEATS] [-s] msgs/invite.sip ...
//
// Per iteration, from the same in-memory bytes (each file read once as raw bytes):
//   parse        : a fresh sb::sip::Message + parse_message(datagram) + read the top Via branch,
//                  Call-ID, CSeq number and method, From tag (summed into a volatile sink).
//   parse_stream : (only with -s) the same with Framing::stream (Content-Length required).
// Timing (as the anchors' "tiny harness"): CLOCK_MONOTONIC; a calibration loop doubling from 256
// iterations until one loop lasts >= 0.2 s (also the warm-up), then N iterations for ~SECONDS,
// then REPEATS timed runs of N. Reported: median msgs/s (wall clock, the headline), ns/msg,
// min..max, and the median rate per CPU-second of this thread (CLOCK_THREAD_CPUTIME_ID).
// Output: a CHECK line per message, a RESULT line per (op, message); any parse error aborts.
#include <getopt.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "sb/sip/message.h"

namespace {

using sb::sip::Framing;
using sb::sip::HeaderId;
using sb::sip::Limits;
using sb::sip::Message;

volatile std::uint64_t g_sink;

double clock_s(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
double now_s() { return clock_s(CLOCK_MONOTONIC); }
double cpu_s() { return clock_s(CLOCK_THREAD_CPUTIME_ID); }  // excludes time preempted

std::string read_file(const char* path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        std::perror(path);
        std::exit(2);
    }
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// "dir/invite.sip" -> "invite"
std::string msg_name(std::string_view path) {
    if (auto slash = path.rfind('/'); slash != std::string_view::npos) path.remove_prefix(slash + 1);
    if (auto dot = path.rfind('.'); dot != std::string_view::npos) path = path.substr(0, dot);
    return std::string(path);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The fields a SIP server needs for transaction and dialog matching, as the anchors read them.
// Returns 0 when one is missing.
std::uint64_t read_fields(const Message& m) {
    std::string_view branch = m.top_via().branch, cid = m.call_id(), meth = m.cseq_method_text(),
                     tag = m.from_tag();
    if (m.via_count() == 0 || branch.empty() || cid.empty() || meth.empty() || tag.empty()) return 0;
    return 1 + branch.size() + cid.size() + m.cseq() + static_cast<unsigned char>(meth[0]) + tag.size();
}

std::size_t count_values(const Message& m, HeaderId id) {
    std::size_t n = 0;
    m.for_each_value(id, [&](std::string_view) { return ++n, true; });
    return n;
}

void print_check(const Message& m, const std::string& name) {
    auto s = [](std::string_view v) { return static_cast<int>(v.size()); };
    std::string_view start = m.is_request() ? m.method_text() : std::string_view("response");
    std::printf("CHECK stack=switchboard msg=%s start=%.*s branch=%.*s call_id=%.*s cseq=%u/%.*s "
                "from_tag=%.*s vias=%zu record_routes=%zu contacts=%zu body_bytes=%zu headers=%zu\n",
                name.c_str(), s(start), start.data(), s(m.top_via().branch), m.top_via().branch.data(),
                s(m.call_id()), m.call_id().data(), m.cseq(), s(m.cseq_method_text()),
                m.cseq_method_text().data(), s(m.from_tag()), m.from_tag().data(), m.via_count(),
                count_values(m, HeaderId::record_route), count_values(m, HeaderId::contact),
                m.body().size(), m.headers().size());
}

struct ParseOp {
    Framing framing;
    const Limits* limits;

    std::uint64_t operator()(std::string_view bytes, std::uint64_t n) const {
        std::uint64_t acc = 0;
        for (std::uint64_t i = 0; i < n; ++i) {
            Message m;  // fresh per message, as the anchors create and free theirs
            if (!sb::sip::parse_message(bytes, framing, *limits, m).has_value()) std::abort();
            std::uint64_t v = read_fields(m);
            if (v == 0) std::abort();
            acc += v;
        }
        return acc;
    }
};

template <class Op>
void measure(const char* stack, const char* op_name, const std::string& msg, const Op& op,
             std::string_view bytes, double target_s, int reps) {
    // Calibrate (doubles as warm-up).
    std::uint64_t n = 256;
    double t = 0;
    for (;;) {
        double t0 = now_s();
        g_sink = g_sink + op(bytes, n);
        t = now_s() - t0;
        if (t >= 0.2) break;
        n *= 2;
    }
    n = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(static_cast<double>(n) * target_s / t));

    reps = std::clamp(reps, 1, 64);
    std::vector<double> rate, crate;
    for (int r = 0; r < reps; ++r) {
        double c0 = cpu_s(), t0 = now_s();
        g_sink = g_sink + op(bytes, n);
        double dt = now_s() - t0, dc = cpu_s() - c0;
        rate.push_back(static_cast<double>(n) / dt);
        crate.push_back(static_cast<double>(n) / dc);
    }
    double med = median(rate), cmed = median(crate);
    auto [lo, hi] = std::minmax_element(rate.begin(), rate.end());
    std::printf("RESULT stack=%s op=%s msg=%s bytes=%zu n=%llu reps=%d "
                "msgs_per_s=%.0f ns_per_msg=%.1f min_msgs_per_s=%.0f max_msgs_per_s=%.0f "
                "cpu_msgs_per_s=%.0f cpu_ns_per_msg=%.1f\n",
                stack, op_name, msg.c_str(), bytes.size(), static_cast<unsigned long long>(n), reps,
                med, 1e9 / med, *lo, *hi, cmed, 1e9 / cmed);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    double target_s = 2.0;
    int reps = 5, opt = 0;
    bool with_stream = false;
    while ((opt = getopt(argc, argv, "t:r:s")) != -1) {
        if (opt == 't') target_s = std::atof(optarg);
        else if (opt == 'r') reps = std::atoi(optarg);
        else if (opt == 's') with_stream = true;
        else {
            std::fprintf(stderr, "usage: %s [-t seconds] [-r repeats] [-s] file...\n", argv[0]);
            return 2;
        }
    }
    if (optind >= argc) {
        std::fprintf(stderr, "no message files\n");
        return 2;
    }

    const Limits limits{};
    for (int a = optind; a < argc; ++a) {
        const std::string bytes = read_file(argv[a]);
        const std::string name = msg_name(argv[a]);
        {
            Message m;
            auto r = sb::sip::parse_message(bytes, Framing::datagram, limits, m);
            if (!r.has_value() || read_fields(m) == 0) {
                std::fprintf(stderr, "switchboard: cannot parse %s (%d %s) or fields missing\n", argv[a],
                             r.has_value() ? 0 : r.error().status, r.has_value() ? "" : r.error().reason);
                return 1;
            }
            print_check(m, name);
        }
        measure("switchboard", "parse", name, ParseOp{Framing::datagram, &limits}, bytes, target_s, reps);
        if (with_stream)
            measure("switchboard", "parse_stream", name, ParseOp{Framing::stream, &limits}, bytes, target_s,
                    reps);
    }
    std::printf("# sink=%llu\n", static_cast<unsigned long long>(g_sink));
    return 0;
}
