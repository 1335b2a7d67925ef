#include "db_error.h"

#include <pqxx/except>

#include <exception>
#include <string>

namespace sb::db::detail {
namespace {

// libpq messages read "ERROR:  text\nDETAIL: ...\n"; keep the text, drop the noise.
std::string clean(std::string m) {
    for (std::string_view prefix : {"ERROR:  ", "FATAL:  "}) {
        if (m.rfind(prefix, 0) == 0) m.erase(0, prefix.size());
    }
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    for (auto& c : m) {
        if (c == '\n' || c == '\t') c = ' ';
    }
    return m;
}

Error make(Errc c, std::string_view what, const std::string& message) {
    std::string text(what);
    if (!text.empty()) text += ": ";
    text += message;
    return Error{code(c), std::move(text)};
}

}  // namespace

Error current_exception_error(std::string_view what) {
    try {
        throw;
    } catch (const pqxx::broken_connection& e) {
        return make(Errc::unavailable, what, "database unavailable: " + clean(e.what()));
    } catch (const pqxx::in_doubt_error& e) {
        // The connection broke during COMMIT: the outcome is unknown, the database unreachable.
        return make(Errc::unavailable, what,
                    "outcome unknown, connection lost: " + clean(e.what()));
    } catch (const pqxx::unique_violation& e) {
        return make(Errc::already_exists, what, clean(e.what()));
    } catch (const pqxx::check_violation& e) {
        return make(Errc::invalid_argument, what, clean(e.what()));
    } catch (const pqxx::data_exception& e) {
        return make(Errc::invalid_argument, what, clean(e.what()));
    } catch (const pqxx::sql_error& e) {
        return make(Errc::query_failed, what, clean(e.what()));
    } catch (const std::exception& e) {
        return make(Errc::unspecified, what, clean(e.what()));
    } catch (...) {
        return make(Errc::unspecified, what, "unknown exception");
    }
}

}  // namespace sb::db::detail
