#pragma once
// Transaction ids: 64-bit values handed to the transaction user instead of pointers, so a user
// that answers late (after a database round trip, say) can never touch a freed transaction: an id
// whose transaction is gone simply finds nothing. Ids are never reused within a TransactionLayer.
#include <compare>
#include <cstdint>
#include <functional>

namespace sb::txn {

struct ServerTxnId {
    std::uint64_t value = 0;  // 0: no transaction
    explicit operator bool() const { return value != 0; }
    auto operator<=>(const ServerTxnId&) const = default;
};

struct ClientTxnId {
    std::uint64_t value = 0;  // 0: no transaction
    explicit operator bool() const { return value != 0; }
    auto operator<=>(const ClientTxnId&) const = default;
};

}  // namespace sb::txn

template <>
struct std::hash<sb::txn::ServerTxnId> {
    std::size_t operator()(sb::txn::ServerTxnId id) const noexcept { return std::hash<std::uint64_t>{}(id.value); }
};
template <>
struct std::hash<sb::txn::ClientTxnId> {
    std::size_t operator()(sb::txn::ClientTxnId id) const noexcept { return std::hash<std::uint64_t>{}(id.value); }
};
