#pragma once
// A small std::expected-like result (C++20 has none): errors from the network, configuration,
// the database or a peer travel as values; exceptions are kept for program boundaries.
#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace sb {

// The error half of a Result: a stable code for programs plus a sentence for people.
struct Error {
    int code = 0;         // component-specific; 0 means "unspecified"
    std::string message;  // says what is wrong, for logs, SIP reason phrases and CLI output
};

template <class E>
struct Unexpected {
    E error;
};

inline Unexpected<Error> fail(std::string message, int code = 0) {
    return Unexpected<Error>{Error{code, std::move(message)}};
}
template <class E>
Unexpected<E> unexpected(E e) {
    return Unexpected<E>{std::move(e)};
}

template <class T, class E = Error>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit like expected
    template <class G>
    Result(Unexpected<G> u) : v_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT

    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }
    T& value() & { assert(has_value()); return std::get<0>(v_); }
    const T& value() const& { assert(has_value()); return std::get<0>(v_); }
    T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const E& error() const { assert(!has_value()); return std::get<1>(v_); }
    T value_or(T other) const { return has_value() ? std::get<0>(v_) : std::move(other); }

private:
    std::variant<T, E> v_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
public:
    Result() = default;
    template <class G>
    Result(Unexpected<G> u) : err_(std::move(u.error)), ok_(false) {}  // NOLINT
    bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const E& error() const { assert(!ok_); return err_; }

private:
    E err_{};
    bool ok_ = true;
};

using Status = Result<void>;

}  // namespace sb
