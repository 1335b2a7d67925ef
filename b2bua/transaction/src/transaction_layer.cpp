#include "sb/txn/transaction_layer.h"

#include <fmt/core.h>

#include <cassert>
#include <random>

#include "layer_impl.h"

namespace sb::txn {

// --- LayerImpl: what is shared by both sides -------------------------------------------------

namespace {
std::uint64_t random_u64() {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}
}  // namespace

LayerImpl::LayerImpl(const Clock& clock, TimerWheel& wheel, Sender& sender, ServerUser& user, TxnConfig config)
    : clock_(clock),
      wheel_(wheel),
      sender_(sender),
      server_user_(user),
      config_(std::move(config)),
      hash_key_{random_u64(), random_u64()},
      server_keys_(0, ServerKeyHash{hash_key_}),
      legacy_keys_(0, LegacyKeyHash{hash_key_}),
      client_keys_(0, ClientKeyHash{hash_key_}),
      branch_key_(random_u64()) {
    assert(config_.t1 > Duration::zero() && config_.t2 >= config_.t1);
}

LayerImpl::~LayerImpl() = default;  // transactions die with their embedded timers (cancelled)

void LayerImpl::end_of_entry() {
    dead_servers_.clear();
    dead_clients_.clear();
    if (notes_.empty()) return;
    if (origin_ == Origin::user) {
        if (!deferred_.scheduled()) wheel_.schedule(deferred_, now());
        return;
    }
    drain();
}

void LayerImpl::drain() {
    if (draining_) return;
    draining_ = true;
    ++depth_;  // user calls made from the notifications below don't drain recursively
    for (std::size_t i = 0; i < notes_.size(); ++i) {  // may grow while we deliver
        Notification n = notes_[i];
        switch (n.kind) {
            case Note::server_timeout: server_user_.on_timeout(ServerTxnId{n.id}); break;
            case Note::server_transport_error: server_user_.on_transport_error(ServerTxnId{n.id}); break;
            case Note::client_timeout: n.user->on_timeout(ClientTxnId{n.id}); break;
            case Note::client_transport_error: n.user->on_transport_error(ClientTxnId{n.id}); break;
            case Note::none: break;
        }
    }
    notes_.clear();
    wheel_.cancel(deferred_);
    dead_servers_.clear();
    dead_clients_.clear();
    --depth_;
    draining_ = false;
}

void LayerImpl::forget_client_notes(std::uint64_t id) {
    for (Notification& n : notes_)
        if (n.id == id && (n.kind == Note::client_timeout || n.kind == Note::client_transport_error))
            n.kind = Note::none;
}

namespace {
std::uint64_t mix64(std::uint64_t z) {  // the splitmix64 finalizer: a bijection
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
}  // namespace

std::string LayerImpl::make_branch() {
    // A bijection of the counter under a random per-layer key: never repeats within the layer,
    // and layers (shards, restarts) draw different keys.
    std::uint64_t v = mix64(branch_key_ + ++branch_counter_ * 0x9e3779b97f4a7c15ull);
    return fmt::format("{}{}{:016x}", sip::kMagicCookie, config_.branch_prefix, v);
}

void LayerImpl::stop() {
    Entry entry(*this);
    std::vector<ServerTxn*> servers;
    std::vector<ClientTxn*> clients;
    for (auto& [id, t] : servers_) servers.push_back(t.get());
    for (auto& [id, t] : clients_) clients.push_back(t.get());
    for (ServerTxn* t : servers) terminate(*t);
    for (ClientTxn* t : clients) terminate(*t);
    notes_.clear();
    wheel_.cancel(deferred_);
}

// --- TransactionLayer: the facade; every call is an entry point ------------------------------

TransactionLayer::TransactionLayer(const sb::Clock& clock, sb::TimerWheel& wheel, Sender& sender,
                                   ServerUser& server_user, TxnConfig config)
    : impl_(std::make_unique<LayerImpl>(clock, wheel, sender, server_user, std::move(config))) {}

TransactionLayer::~TransactionLayer() = default;

void TransactionLayer::receive(sip::Message&& message, const sb::Flow& flow) {
    LayerImpl::Entry entry(*impl_);
    if (message.is_request()) impl_->receive_request(std::move(message), flow);
    else impl_->receive_response(std::move(message), flow);
}

bool TransactionLayer::respond(ServerTxnId id, std::string bytes, int status) {
    LayerImpl::Entry entry(*impl_, LayerImpl::Origin::user);
    return impl_->respond(id.value, std::move(bytes), status);
}

const sip::Message* TransactionLayer::request(ServerTxnId id) const {
    ServerTxn* t = impl_->server_by_id(id.value);
    return t != nullptr && !t->compacted ? &t->request : nullptr;
}

const sb::Flow* TransactionLayer::flow(ServerTxnId id) const {
    ServerTxn* t = impl_->server_by_id(id.value);
    return t != nullptr ? &t->flow : nullptr;
}

ServerTxnId TransactionLayer::find_cancelled_invite(ServerTxnId cancel) const {
    return ServerTxnId{impl_->find_cancelled_invite(cancel.value)};
}

sb::Result<ClientTxnId> TransactionLayer::start_client(std::string request_bytes, sip::Method method,
                                                       std::string branch, const sb::Flow& destination,
                                                       ClientUser& user) {
    LayerImpl::Entry entry(*impl_, LayerImpl::Origin::user);
    return impl_->start_client(std::move(request_bytes), method, std::move(branch), destination, user, 0);
}

sb::Result<ClientTxnId> TransactionLayer::cancel_client(ClientTxnId invite, ClientUser& user) {
    LayerImpl::Entry entry(*impl_, LayerImpl::Origin::user);
    return impl_->cancel_client(invite.value, user);
}

bool TransactionLayer::stop_client(ClientTxnId id) {
    LayerImpl::Entry entry(*impl_, LayerImpl::Origin::user);
    return impl_->stop_client(id.value);
}

std::string TransactionLayer::make_branch() { return impl_->make_branch(); }

void TransactionLayer::stop() { impl_->stop(); }

std::size_t TransactionLayer::size() const { return impl_->servers_.size() + impl_->clients_.size(); }
std::size_t TransactionLayer::server_size() const { return impl_->servers_.size(); }
std::size_t TransactionLayer::client_size() const { return impl_->clients_.size(); }
const TxnConfig& TransactionLayer::config() const { return impl_->config_; }

}  // namespace sb::txn
