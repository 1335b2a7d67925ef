#include "conninfo.h"

#include "sb/db/embedded_postgres.h"

#include <libpq-fe.h>

#include <cstring>
#include <memory>

namespace sb::db::detail {

std::string with_connect_timeout(const std::string& conninfo, int seconds) {
    char* err = nullptr;
    PQconninfoOption* opts = ::PQconninfoParse(conninfo.c_str(), &err);
    if (err) ::PQfreemem(err);
    if (!opts) return conninfo;
    std::unique_ptr<PQconninfoOption, decltype(&::PQconninfoFree)> guard(opts, &::PQconninfoFree);
    std::string out;
    bool has_timeout = false;
    for (auto* o = opts; o->keyword; ++o) {
        if (!o->val) continue;
        if (std::strcmp(o->keyword, "connect_timeout") == 0) has_timeout = true;
        if (!out.empty()) out += ' ';
        out += o->keyword;
        out += '=';
        out += quote_conninfo_value(o->val);
    }
    if (!has_timeout) {
        if (!out.empty()) out += ' ';
        out += "connect_timeout=" + std::to_string(seconds);
    }
    return out;
}

}  // namespace sb::db::detail
