#include "config.h"

#include "sb/media/dsp/tones.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <toml.hpp>

namespace sb::app {

namespace {

// Reads table[key] into out if present, recording the key as known.
template <class T>
void read(const toml::value& table, const char* key, T& out, std::set<std::string>& known) {
    known.insert(key);
    if (table.contains(key)) out = toml::find<T>(table, key);
}

Status check_unknown(const toml::value& table, const std::string& where,
                     const std::set<std::string>& known) {
    for (const auto& [k, v] : table.as_table())
        if (!known.count(k)) return fail("unknown setting '" + k + "' in [" + where + "]");
    return {};
}

}  // namespace

Status load_config_file(const std::filesystem::path& file, Config& c) {
    try {
        const toml::value root = toml::parse(file.string());
        std::set<std::string> top_known{"data_dir",  "database", "log_level", "sip",
                                        "registrar", "security", "calls",     "media"};
        if (root.contains("data_dir")) c.data_dir = toml::find<std::string>(root, "data_dir");
        if (root.contains("log_level")) c.log_level = toml::find<std::string>(root, "log_level");
        if (auto st = check_unknown(root, "top level", top_known); !st) return st;
        if (root.contains("database")) {
            const auto& t = toml::find(root, "database");
            std::set<std::string> known;
            read(t, "dsn", c.db_dsn, known);
            read(t, "threads", c.db_threads, known);
            if (auto st = check_unknown(t, "database", known); !st) return st;
        }
        if (root.contains("sip")) {
            const auto& t = toml::find(root, "sip");
            std::set<std::string> known{"limits", "overload"};
            read(t, "listen", c.sip_listen, known);
            read(t, "realm", c.realm, known);
            read(t, "shards", c.server.shards, known);
            read(t, "server_name", c.server.server_name, known);
            std::int64_t idle = c.server.transport.tcp_idle_timeout.count() / 1000;
            read(t, "tcp_idle_timeout", idle, known);
            c.server.transport.tcp_idle_timeout = std::chrono::seconds(idle);
            read(t, "max_tcp_connections", c.server.transport.max_connections, known);
            read(t, "max_tcp_connections_per_ip", c.server.transport.max_connections_per_ip, known);
            read(t, "max_transactions", c.server.transactions.max_server_transactions, known);
            if (auto st = check_unknown(t, "sip", known); !st) return st;
            if (t.contains("limits")) {
                const auto& l = toml::find(t, "limits");
                std::set<std::string> lk;
                auto& lim = c.server.transport.limits;
                read(l, "max_message_size", lim.max_message_size, lk);
                read(l, "max_headers", lim.max_headers, lk);
                read(l, "max_vias", lim.max_vias, lk);
                read(l, "max_line_length", lim.max_line_length, lk);
                if (auto st = check_unknown(l, "sip.limits", lk); !st) return st;
            }
            if (t.contains("overload")) {
                const auto& o = toml::find(t, "overload");
                std::set<std::string> ok;
                auto& ov = c.server.overload;
                std::int64_t max_delay = ov.max_queue_delay.count();
                read(o, "enabled", ov.enabled, ok);
                read(o, "max_queue_delay_ms", max_delay, ok);
                read(o, "retry_after", ov.retry_after_s, ok);
                if (max_delay < 20)
                    return fail("sip.overload.max_queue_delay_ms must be at least 20");
                ov.max_queue_delay = Duration(max_delay);
                if (auto st = check_unknown(o, "sip.overload", ok); !st) return st;
            }
        }
        if (root.contains("registrar")) {
            const auto& t = toml::find(root, "registrar");
            std::set<std::string> known;
            auto& r = c.server.registrar;
            read(t, "min_expires", r.min_expires, known);
            read(t, "max_expires", r.max_expires, known);
            read(t, "default_expires", r.default_expires, known);
            read(t, "max_contacts", r.max_contacts_per_aor, known);
            if (auto st = check_unknown(t, "registrar", known); !st) return st;
        }
        if (root.contains("calls")) {
            const auto& t = toml::find(root, "calls");
            std::set<std::string> known;
            auto& cc = c.server.calls;
            std::int64_t max_duration = cc.max_call_duration.count() / 1000;
            read(t, "max_duration", max_duration, known);
            if (max_duration < 60) return fail("calls.max_duration must be at least 60 (seconds)");
            cc.max_call_duration = std::chrono::seconds(max_duration);
            read(t, "session_expires", cc.session_expires_s, known);
            read(t, "min_se", cc.min_se_s, known);
            if (cc.min_se_s < 90 || cc.session_expires_s < cc.min_se_s)
                return fail("calls: need 90 <= min_se <= session_expires (RFC 4028)");
            read(t, "max_calls_per_shard", cc.max_calls, known);
            read(t, "ringback", cc.ringback, known);
            std::int64_t busy_tone = cc.busy_tone_s;
            read(t, "busy_tone_seconds", busy_tone, known);
            if (busy_tone < 0 || busy_tone > 60)
                return fail("calls.busy_tone_seconds must be 0 to 60");
            cc.busy_tone_s = static_cast<std::uint32_t>(busy_tone);
            read(t, "music_on_hold", cc.music_on_hold, known);
            // A prompt name as load_prompt takes it: never a path.
            if (cc.music_on_hold.size() > 64 ||
                cc.music_on_hold.find_first_not_of(
                    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789-_") != std::string::npos)
                return fail(
                    "calls.music_on_hold: a prompt name (letters, digits, '-' and '_'), or \"\" "
                    "for none");
            std::vector<std::string> peers;
            read(t, "trusted_peers", peers, known);
            for (const std::string& p : peers) {
                auto ep = Endpoint::from_string(p);
                if (!ep) ep = Endpoint::from_ip(p, 0);
                if (!ep)
                    return fail("calls.trusted_peers: '" + p +
                                "' is not an IP address or ADDR:PORT");
                cc.trusted_peers.push_back(*ep);
            }
            std::int64_t keep_days = c.call_records_keep_days;
            read(t, "records_keep_days", keep_days, known);
            if (keep_days < 0 || keep_days > 36500)
                return fail("calls.records_keep_days must be 0 (keep every record) to 36500");
            c.call_records_keep_days = static_cast<std::uint32_t>(keep_days);
            if (auto st = check_unknown(t, "calls", known); !st) return st;
        }
        if (root.contains("media")) {
            const auto& t = toml::find(root, "media");
            std::set<std::string> known;
            std::string mode = c.media.anchor ? "anchor" : "direct";
            read(t, "mode", mode, known);
            if (mode != "anchor" && mode != "direct")
                return fail("media.mode: '" + mode + "' is not \"anchor\" or \"direct\"");
            c.media.anchor = mode == "anchor";
            read(t, "address", c.media.address, known);
            read(t, "tones", c.media.tones, known);
            read(t, "prompts", c.media.prompts, known);
            read(t, "recordings", c.media.recordings, known);
            std::int64_t min_free = static_cast<std::int64_t>(c.media.recordings_min_free_mb);
            read(t, "recordings_min_free_mb", min_free, known);
            if (min_free < 0 || min_free > 16 * 1024 * 1024)
                return fail("media.recordings_min_free_mb must be 0 to 16777216 (16 TB)");
            c.media.recordings_min_free_mb = static_cast<std::uint64_t>(min_free);
            if (auto plan = media::dsp::find_tone_plan(c.media.tones); !plan)
                return fail("media.tones: " + plan.error().message);
            read(t, "advertise", c.media.advertise, known);
            std::int64_t port_min = c.media.port_min, port_max = c.media.port_max,
                         workers = c.media.workers;
            read(t, "port_min", port_min, known);
            read(t, "port_max", port_max, known);
            read(t, "workers", workers, known);
            if (port_min < 1024 || port_max > 65535 || port_max - port_min < 3)
                return fail(
                    "media: need 1024 <= port_min < port_max <= 65535 with room for two port "
                    "pairs");
            if (workers < 1 || workers > 64) return fail("media.workers must be 1 to 64");
            for (const std::string* ip : {&c.media.address, &c.media.advertise})
                if (!ip->empty() && !Endpoint::from_ip(*ip, 0))
                    return fail("media: '" + *ip + "' is not an IP address");
            c.media.port_min = static_cast<std::uint16_t>(port_min);
            c.media.port_max = static_cast<std::uint16_t>(port_max);
            c.media.workers = static_cast<unsigned>(workers);
            if (auto st = check_unknown(t, "media", known); !st) return st;
        }
        if (root.contains("security")) {
            const auto& t = toml::find(root, "security");
            std::set<std::string> known;
            std::int64_t window = c.bans.window.count(), ban_time = c.bans.ban_time.count();
            std::int64_t nonce_lifetime = c.nonces.lifetime.count();
            read(t, "ban_max_failures", c.bans.max_failures, known);
            read(t, "ban_window", window, known);
            read(t, "ban_time", ban_time, known);
            read(t, "ban_max_tracked", c.bans.max_tracked_addresses, known);
            read(t, "drop_scanners", c.drop_scanners, known);
            read(t, "nonce_lifetime", nonce_lifetime, known);
            std::vector<std::string> algorithms;
            read(t, "digest_algorithms", algorithms, known);
            if (t.contains("digest_algorithms")) {
                c.digest_algorithms.clear();
                for (const std::string& name : algorithms) {
                    auto a = auth::parse_algorithm(name);
                    if (!a || (*a != auth::Algorithm::md5 && *a != auth::Algorithm::sha256))
                        return fail("security.digest_algorithms: '" + name +
                                    "' is not one of \"SHA-256\", \"MD5\"");
                    c.digest_algorithms.push_back(*a);
                }
                if (c.digest_algorithms.empty()) return fail("security.digest_algorithms is empty");
            }
            c.bans.window = std::chrono::seconds(window);
            c.bans.ban_time = std::chrono::seconds(ban_time);
            c.nonces.lifetime = std::chrono::seconds(nonce_lifetime);
            if (auto st = check_unknown(t, "security", known); !st) return st;
        }
    } catch (const std::exception& e) {
        return fail("config file " + file.string() + ": " + e.what());
    }
    auto& r = c.server.registrar;
    if (r.min_expires < 1 || r.max_expires < r.min_expires || r.default_expires < r.min_expires)
        return fail("config: need 1 <= registrar.min_expires <= default_expires, max_expires");
    return {};
}

Status resolve_listen(Config& c) {
    c.server.listen.clear();
    for (const std::string& item : c.sip_listen) {
        std::string_view s = item;
        transport::ListenSpec spec;
        if (s.substr(0, 4) == "udp:") {
            spec.tcp = false;
            s.remove_prefix(4);
        } else if (s.substr(0, 4) == "tcp:") {
            spec.udp = false;
            s.remove_prefix(4);
        }
        auto ep = Endpoint::from_string(s);
        if (!ep)
            return fail("bad --sip-listen '" + item +
                        "': expected ADDR:PORT, e.g. 0.0.0.0:5060 or [::1]:5060");
        spec.endpoint = *ep;
        c.server.listen.push_back(spec);
    }
    if (c.server.listen.empty()) return fail("nothing to listen on");
    return {};
}

}  // namespace sb::app

namespace sb::app {

namespace {

// The IPv4 address this host would use to reach the outside world: a UDP socket "connected"
// towards a public address sends nothing, yet the kernel picks its source address.
std::string outward_ipv4() {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return "127.0.0.1";
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    inet_pton(AF_INET, "192.0.2.1", &to.sin_addr);  // TEST-NET-1: only the route matters
    std::string ip = "127.0.0.1";
    sockaddr_in local{};
    socklen_t len = sizeof local;
    if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
        char buf[INET_ADDRSTRLEN];
        if (inet_ntop(AF_INET, &local.sin_addr, buf, sizeof buf)) ip = buf;
    }
    close(fd);
    return ip;
}

}  // namespace

media::rtp::RelayConfig relay_config(const Config& c) {
    media::rtp::RelayConfig r;
    r.port_min = c.media.port_min;
    r.port_max = c.media.port_max;
    r.workers = c.media.workers;
    r.recording_min_free_mb = c.media.recordings_min_free_mb;
    r.address = c.media.address;
    if (r.address.empty() && !c.server.listen.empty()) {
        const Endpoint& sip = c.server.listen.front().endpoint;
        const std::string ip = sip.ip();
        if (ip != "0.0.0.0" && ip != "::") r.address = ip;
    }
    if (r.address.empty()) r.address = "0.0.0.0";
    r.advertise = c.media.advertise;
    if (r.advertise.empty() && r.address == "0.0.0.0") r.advertise = outward_ipv4();
    return r;
}

}  // namespace sb::app
