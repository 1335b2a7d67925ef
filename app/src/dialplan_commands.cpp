// `switchboard dialplan ...`: checking, storing, activating and simulating dialplan scripts.
#include <cctype>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "cli.h"
#include "commands.h"
#include "database.h"
#include "sb/call/best_response.h"
#include "sb/db/dialplans.h"
#include "sb/dialplan/engine.h"
#include "sb/dialplan/simulated_call.h"
#include "sb/sip/writer.h"

namespace sb::app {

namespace {

int report(const std::string& message) {
    std::fprintf(stderr, "error: %s\n", message.c_str());
    return 1;
}

// The name in messages is the file's base name, as administrators see it in their editor.
std::string base_name(const std::string& file) {
    auto slash = file.find_last_of('/');
    return slash == std::string::npos ? file : file.substr(slash + 1);
}

// Reads a script, refusing files larger than the database would store (before reading them).
Result<std::string> read_script(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail("cannot read " + file);
    std::string text;
    char buf[16384];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        text.append(buf, static_cast<std::size_t>(in.gcount()));
        if (text.size() > db::kMaxDialplanSource) {
            return fail(file + " is too large: a dialplan is at most " +
                        std::to_string(db::kMaxDialplanSource / 1024) + " KiB");
        }
    }
    if (in.bad()) return fail("cannot read " + file);
    return text;
}

std::string no_such_version(std::int64_t version) {
    return "dialplan version " + std::to_string(version) +
           " does not exist (`switchboard dialplan list` shows the stored versions)";
}

// "busy", "failed:503": an outcome for one bridge wait. Default codes are the ones the B2BUA
// reports for each result (docs/dialplan.md, "Bridge outcomes").
Result<dialplan::Outcome> parse_outcome(const std::string& text) {
    auto colon = text.find(':');
    std::string word = text.substr(0, colon);
    auto result = dialplan::parse_bridge_result(word);
    if (!result) {
        return fail("--outcome '" + text +
                    "': expected answered, busy, noanswer, unavailable or failed, "
                    "optionally with :CODE (e.g. failed:503)");
    }
    int code = 0;
    switch (*result) {
        case dialplan::BridgeResult::answered:
            code = 200;
            break;
        case dialplan::BridgeResult::busy:
            code = 486;
            break;
        case dialplan::BridgeResult::noanswer:
            code = 480;
            break;
        case dialplan::BridgeResult::unavailable:
            code = 480;
            break;
        case dialplan::BridgeResult::failed:
            code = 500;
            break;
    }
    if (colon != std::string::npos) {
        std::string digits = text.substr(colon + 1);
        if (digits.size() != 3 || digits.find_first_not_of("0123456789") != std::string::npos ||
            std::stoi(digits) < 200 || std::stoi(digits) > 699) {
            return fail("--outcome '" + text +
                        "': the code must be a SIP final status, 200 to 699");
        }
        code = std::stoi(digits);
    }
    return dialplan::Outcome{*result, code};
}

std::string status_line(int code, std::string_view reason) {
    std::string r(reason.empty() ? sip::default_reason(code) : reason);
    if (reason.empty() && r == "Unknown") r.clear();
    return std::to_string(code) + (r.empty() ? "" : " " + r);
}

// "hangup 486 Busy Here" -> {486, "Busy Here"}, as SimulatedCall records it.
bool parse_hangup_step(const std::string& step, int& code, std::string& reason) {
    if (step.rfind("hangup ", 0) != 0) return false;
    std::string rest = step.substr(7);
    auto space = rest.find(' ');
    try {
        code = std::stoi(rest.substr(0, space));
    } catch (const std::exception&) {
        return false;
    }
    reason = space == std::string::npos ? "" : rest.substr(space + 1);
    return true;
}

}  // namespace

int dialplan_check(const std::string& file) {
    auto text = read_script(file);
    if (!text) return report(text.error().message);
    std::string name = base_name(file);
    dialplan::Engine engine;
    auto script = engine.check(*text, name);
    if (!script) {
        std::fprintf(stderr, "%s\n", script.error().message.c_str());
        return 1;
    }
    std::printf("%s: OK\n", name.c_str());
    return 0;
}

int dialplan_load(const Config& config, const std::string& file, const std::string& comment) {
    auto text = read_script(file);
    if (!text) return report(text.error().message);
    std::string name = base_name(file);
    if (auto st = db::validate_dialplan(name, *text, comment); !st)
        return report(st.error().message);
    // A script with errors never reaches the database (nor any running PBX).
    dialplan::Engine engine;
    auto script = engine.check(*text, name);
    if (!script) {
        std::fprintf(stderr, "%s\n", script.error().message.c_str());
        std::fprintf(stderr, "error: %s was not stored; the active dialplan is unchanged\n",
                     name.c_str());
        return 1;
    }
    return with_connection(config, [&](pqxx::connection& conn) {
        auto version = db::store_and_activate_dialplan(conn, name, *text, comment);
        if (!version) return report(version.error().message);
        std::printf("dialplan version %lld (%s) stored and active\n",
                    static_cast<long long>(*version), name.c_str());
        return 0;
    });
}

int dialplan_list(const Config& config) {
    return with_connection(config, [&](pqxx::connection& conn) {
        auto all = db::list_dialplans(conn);
        if (!all) return report(all.error().message);
        std::printf("%-8s %-6s %-19s %8s  %s\n", "VERSION", "ACTIVE", "CREATED", "BYTES", "NAME");
        for (const auto& d : *all) {
            std::string name = d.name;
            if (!d.comment.empty()) name += "  (" + d.comment + ")";
            std::printf("%-8lld %-6s %-19s %8zu  %s\n", static_cast<long long>(d.version),
                        d.active ? "*" : "", local_time(d.created_at).c_str(), d.size,
                        name.c_str());
        }
        if (all->empty())
            std::printf("(none stored yet: `switchboard run` stores the default on first start)\n");
        return 0;
    });
}

int dialplan_show(const Config& config, std::optional<std::int64_t> version) {
    return with_connection(config, [&](pqxx::connection& conn) {
        auto d = version ? db::get_dialplan(conn, *version) : db::active_dialplan(conn);
        if (!d) return report(d.error().message);
        if (!*d) {
            return report(
                version
                    ? no_such_version(*version)
                    : std::string("no dialplan is active yet (`switchboard dialplan load FILE`)"));
        }
        const std::string& source = (*d)->source;
        std::fwrite(source.data(), 1, source.size(), stdout);
        if (!source.empty() && source.back() != '\n') std::fputc('\n', stdout);
        return 0;
    });
}

int dialplan_activate(const Config& config, std::int64_t version) {
    return with_connection(config, [&](pqxx::connection& conn) {
        auto d = db::get_dialplan(conn, version);
        if (!d) return report(d.error().message);
        if (!*d) return report(no_such_version(version));
        // Stored versions were checked when loaded, but this release's engine may be stricter.
        dialplan::Engine engine;
        auto script = engine.check((*d)->source, (*d)->name);
        if (!script) {
            return report("dialplan version " + std::to_string(version) +
                          " does not compile, not activated: " + script.error().message);
        }
        if (auto st = db::activate_dialplan(conn, version); !st) return report(st.error().message);
        std::printf("dialplan version %lld (%s) active\n", static_cast<long long>(version),
                    (*d)->name.c_str());
        return 0;
    });
}

int dialplan_simulate(const Config& config, const SimulateArgs& args) {
    std::deque<dialplan::Outcome> outcomes;
    for (const auto& o : args.outcomes) {
        auto parsed = parse_outcome(o);
        if (!parsed) return report(parsed.error().message);
        outcomes.push_back(*parsed);
    }
    std::deque<std::string> keys;
    for (const auto& d : args.digits) {
        std::string pressed;
        for (char k : d) {
            const char key = static_cast<char>(std::toupper(static_cast<unsigned char>(k)));
            if (!call::valid_dtmf_key(key))
                return report("--digits '" + d + "': keys are 0-9, *, #, A-D");
            pressed += key;
        }
        if (pressed.size() > 256) return report("--digits '" + d + "': at most 256 keys");
        keys.push_back(std::move(pressed));
    }
    dialplan::SimulatedCall::Facts facts;
    facts.caller_number = args.from;
    facts.callee_number = args.to;
    facts.caller_name = args.name;
    facts.from_trunk = args.from_trunk;
    for (const auto& h : args.headers) {
        auto colon = h.find(':');
        if (colon == std::string::npos || colon == 0)
            return report("--header '" + h + "': expected 'Name: value'");
        std::string value = h.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        facts.headers[h.substr(0, colon)] = value;
    }

    // The script: a file (the database is not touched), a stored version, or the active one.
    std::string name, source, origin;
    if (args.file) {
        auto text = read_script(*args.file);
        if (!text) return report(text.error().message);
        name = base_name(*args.file);
        source = std::move(*text);
        origin = *args.file;
    } else {
        int rc = with_connection(config, [&](pqxx::connection& conn) {
            auto d =
                args.version ? db::get_dialplan(conn, *args.version) : db::active_dialplan(conn);
            if (!d) return report(d.error().message);
            if (!*d) {
                return report(args.version
                                  ? no_such_version(*args.version)
                                  : std::string("no dialplan is active yet; give --file FILE"));
            }
            name = (*d)->name;
            source = (*d)->source;
            origin = "dialplan version " + std::to_string((*d)->version) + " (" + name + ")" +
                     ((*d)->active ? ", active" : "");
            return 0;
        });
        if (rc != 0) return rc;
    }

    dialplan::Engine engine;
    auto script = engine.check(source, name);
    std::printf("simulating %s: call from %s%s to %s\n", origin.c_str(), args.from.c_str(),
                args.name.empty() ? "" : (" \"" + args.name + "\"").c_str(), args.to.c_str());
    if (!script) {
        std::printf("-> script error: %s\n", script.error().message.c_str());
        return 1;
    }
    dialplan::SimulatedCall call(facts, std::move(outcomes), std::move(keys));
    constexpr std::uint64_t kCallId = 1;
    dialplan::Step step = engine.start(kCallId, *script, call);
    std::optional<dialplan::Outcome> last_bridge;
    bool answered = false;
    while (step.state == dialplan::Step::State::waiting) {
        // In a conference the script waits until the caller hangs up: no outcome comes.
        if (call.in_conference()) break;
        const bool bridge = call.waiting_for_bridge();  // a prompt that played answers nothing
        dialplan::Outcome o = call.next_outcome();
        if (bridge) {
            last_bridge = o;
            if (o.result == dialplan::BridgeResult::answered) answered = true;
        }
        step = engine.resume(kCallId, o);
    }
    for (const auto& s : call.steps()) std::printf("  %s\n", s.c_str());
    if (call.in_conference()) {
        engine.cancel(kCallId);
        std::printf("-> call answered by the PBX, in the conference until the caller hangs up\n");
        return 0;
    }

    if (step.state == dialplan::Step::State::failed) {
        std::printf("-> script error: %s\n", step.error.c_str());
        if (answered)
            std::printf("-> the call stays connected (it was answered before the error)\n");
        else
            std::printf("-> call ends: 500 Server Internal Error\n");
        return 1;
    }
    int code = 0;
    std::string reason;
    bool hung_up = !call.steps().empty() && parse_hangup_step(call.steps().back(), code, reason);
    bool pbx_answered = false;
    for (const auto& s : call.steps()) pbx_answered = pbx_answered || s == "answer";
    if (hung_up) {
        if (answered || pbx_answered)
            std::printf("-> call ends: BYE (it was answered; hangup %d)\n", code);
        else
            std::printf("-> call ends: %s\n", status_line(code, reason).c_str());
    } else if (answered) {
        std::printf("-> call connected: the bridge was answered (%d)\n",
                    last_bridge ? last_bridge->code : 200);
    } else if (pbx_answered) {
        std::printf("-> call ends: BYE (answered by the PBX, route returned)\n");
    } else {
        // The B2BUA's own rule (a 503 becomes 500, no bridge at all 404), so the two cannot differ.
        int status = call::final_status_for(last_bridge);
        std::printf("-> call ends: %s (%s)\n", status_line(status, {}).c_str(),
                    last_bridge ? "route returned after the last bridge"
                                : "route returned without bridging");
    }
    return 0;
}

}  // namespace sb::app
