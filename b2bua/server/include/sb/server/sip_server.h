#pragma once
// The SIP server: N worker shards, each with its own event loop thread, transports, timer wheel,
// transaction layer and transaction users. A new request is handled by the shard whose socket
// received it; messages within a dialog go to the shard named by the tag we generated for it
// (call::shard_of_tag), whichever shard's socket received them. State is never shared between
// shards except through the thread-safe services below.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "sb/auth/ban_list.h"
#include "sb/call/call_manager.h"
#include "sb/call/router.h"
#include "sb/auth/scanner_filter.h"
#include "sb/common/clock.h"
#include "sb/common/result.h"
#include "sb/registrar/authenticator.h"
#include "sb/registrar/registrar.h"
#include "sb/server/overload_guard.h"
#include "sb/transport/transport.h"
#include "sb/txn/config.h"

namespace sb::server {

struct ServerConfig {
    std::size_t shards = 0;  // 0: one per hardware thread
    std::vector<transport::ListenSpec> listen;
    transport::TransportConfig transport;
    txn::TxnConfig transactions;
    registrar::RegistrarConfig registrar;
    call::CallConfig calls;
    OverloadConfig overload;
    std::string server_name = "Switchboard";
    ServerConfig() { transactions.trying_delay = Duration{0}; }  // 100 Trying at once to every INVITE
};

// Shared, thread-safe services the shards use. Owned by the caller; must outlive the server.
struct Services {
    const Clock& clock;
    registrar::Authenticator& authenticator;
    registrar::LocationService& locations;
    registrar::BindingSink& bindings;
    auth::BanList& bans;
    const auth::ScannerFilter& scanners;
    const registrar::CredentialCache& credentials;
    media::MediaEngine& media;
    call::RouterFactory routers;  // one Router per shard (the dialplan)
    call::CallRecordSink* records = nullptr;
};

class SipServer {
public:
    SipServer(ServerConfig config, Services services);
    ~SipServer();
    SipServer(const SipServer&) = delete;
    SipServer& operator=(const SipServer&) = delete;

    // Binds every listen address on every shard and starts the shard threads.
    Status start();
    // Stops all shards and joins their threads. Idempotent.
    void stop();

    // Bound addresses (ports resolved when the configuration said 0).
    std::vector<Endpoint> udp_endpoints() const;
    std::vector<Endpoint> tcp_endpoints() const;
    std::size_t shard_count() const;

private:
    class Shard;
    Shard& owner_of(std::string_view tag, Shard& receiver);
    ServerConfig config_;
    Services services_;
    std::vector<std::unique_ptr<Shard>> shards_;
    bool running_ = false;
};

}  // namespace sb::server
