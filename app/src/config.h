#pragma once
// The `switchboard` configuration: defaults, then the TOML file (--config), then command-line
// options. Every limit the server enforces is here, so an administrator can change it.
#include <filesystem>
#include <string>
#include <vector>

#include "sb/auth/algorithm.h"
#include "sb/auth/ban_list.h"
#include "sb/auth/nonce_manager.h"
#include "sb/common/result.h"
#include "sb/media/rtp/relay.h"
#include "sb/server/sip_server.h"

namespace sb::app {

struct Config {
    std::filesystem::path data_dir = "var";
    std::string db_dsn;  // empty: the embedded PostgreSQL cluster in data_dir
    std::string log_level = "info";
    std::string realm = "switchboard";
    std::vector<std::string> sip_listen{"0.0.0.0:5060"};
    server::ServerConfig server;
    auth::BanConfig bans;
    bool drop_scanners = true;
    // Offered in this order, one challenge each (RFC 8760). MD5 only by default: most desk
    // phones, Debian's baresip 1.0 and SIPp 3.6 fail on a 401 that offers SHA-256 at all (or
    // first). Administrators whose phones do RFC 8760 set ["SHA-256", "MD5"].
    std::vector<auth::Algorithm> digest_algorithms{auth::Algorithm::md5};
    auth::NonceConfig nonces;
    std::size_t db_threads = 2;
    // [calls] records_keep_days: call records older than this are deleted (daily); 0 keeps them.
    std::uint32_t call_records_keep_days = 0;

    // [media]: every call's RTP is anchored on Switchboard (the relay) unless mode is "direct",
    // where SDP passes through and phones send to each other.
    struct Media {
        bool anchor = true;
        std::string address;    // bind and advertise; "" = the SIP listen address (see below)
        std::string advertise;  // the address SDP names when it differs (behind 1:1 NAT)
        std::uint16_t port_min = 16384;
        std::uint16_t port_max = 32767;
        unsigned workers = 1;
        std::string tones = "US";  // the tone plan: ringback, busy (US GB DE FR CN JP)
        std::string prompts;       // call:playback()'s <name>.wav; "" = <data_dir>/prompts
        std::string recordings;    // call:record()'s files; "" = <data_dir>/recordings
        std::uint64_t recordings_min_free_mb = 1024;  // left free by recordings; 0: no floor
    } media;
};

// The relay's configuration from [media]: with no address set, the first SIP listen address
// when it is a specific IP, else the wildcard with the host's outward IPv4 address advertised.
media::rtp::RelayConfig relay_config(const Config& config);

// Reads a TOML file over the defaults. Unknown keys are errors (a typo must not pass silently).
Status load_config_file(const std::filesystem::path& file, Config& config);
// Turns config.sip_listen ("ADDR:PORT", "[v6]:PORT", optionally "udp:" or "tcp:" first) into
// listen specs.
Status resolve_listen(Config& config);

}  // namespace sb::app
