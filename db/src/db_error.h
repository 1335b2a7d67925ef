#pragma once
// Turns libpqxx exceptions into sb::Error at the component boundary.
#include "sb/common/result.h"
#include "sb/db/errors.h"

#include <string_view>
#include <type_traits>

namespace sb::db::detail {

// Call only inside a catch block: classifies the exception in flight. `what` prefixes the message
// ("add extension 1001: ...").
Error current_exception_error(std::string_view what);

// Runs f (returning a Result or Status); any exception becomes an error value.
template <class F>
auto guarded(std::string_view what, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (...) {
        return Unexpected<Error>{current_exception_error(what)};
    }
}

inline Unexpected<Error> fail(Errc code, std::string message) {
    return sb::fail(std::move(message), db::code(code));
}

}  // namespace sb::db::detail
