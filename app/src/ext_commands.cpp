// `switchboard ext ...` and `switchboard db migrate`: administration from the command line.
#include <cstdio>
#include <fstream>
#include <pqxx/pqxx>

#include "commands.h"
#include "database.h"
#include "sb/db/extensions.h"
#include "sb/db/registrations.h"
#include "sb/media/dsp/tones.h"

namespace sb::app {

namespace {

int report(const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return 1;
}

template <class Fn>
int with_connection(const Config& config, Fn&& fn) {
    auto d = open_database(config);
    if (!d) return report(d.error());
    try {
        pqxx::connection conn(d->conninfo);
        return fn(conn);
    } catch (const std::exception& e) {
        return report(Error{0, e.what()});
    }
}

// The value of `--tones`: "system" is the system's plan ([media] tones), stored as NULL; anything
// else must name one of the media engine's plans and is stored as its code ("uk" -> "GB"), so
// an extension can never hold a plan the PBX cannot play.
Result<std::optional<std::string>> parse_tones(std::string_view given) {
    if (given == "system") return std::optional<std::string>{};
    auto plan = media::dsp::find_tone_plan(given);
    if (!plan) {
        return Unexpected<Error>{
            Error{0, "--tones: " + plan.error().message + "; or 'system' for [media] tones"}};
    }
    return std::optional<std::string>{std::string((*plan)->country)};
}

// The system's plan as configured, by its code ("uk" in the file shows as GB).
std::string system_tones(const Config& config) {
    auto plan = media::dsp::find_tone_plan(config.media.tones);
    return "system (" + (plan ? std::string((*plan)->country) : config.media.tones) + ")";
}

}  // namespace

int ext_add(const Config& config, const ExtArgs& a) {
    // Bad input is reported before any database is started.
    for (Status st : {db::validate_number(a.number), db::validate_password(a.password.value_or("")),
                      db::validate_display_name(a.name.value_or(""))})
        if (!st) return report(st.error());
    std::optional<std::string> tones;
    if (a.tones) {
        auto t = parse_tones(*a.tones);
        if (!t) return report(t.error());
        tones = *t;
    }
    return with_connection(config, [&](pqxx::connection& conn) {
        auto r = db::add_extension(conn, a.number, a.password.value_or(""), a.name.value_or(""),
                                   config.realm, tones);
        if (!r) return report(r.error());
        std::printf("extension %s added (realm %s)\n", r->number.c_str(), r->realm.c_str());
        return 0;
    });
}

int ext_list(const Config& config) {
    return with_connection(config, [&](pqxx::connection& conn) {
        auto r = db::list_extensions(conn);
        if (!r) return report(r.error());
        std::printf("%-12s %-8s %-14s %-7s %s\n", "NUMBER", "ENABLED", "REALM", "TONES", "NAME");
        for (const auto& e : *r)
            std::printf("%-12s %-8s %-14s %-7s %s\n", e.number.c_str(), e.enabled ? "yes" : "no",
                        e.realm.c_str(), e.tones.value_or("system").c_str(),
                        e.display_name.c_str());
        return 0;
    });
}

int ext_show(const Config& config, const std::string& number) {
    if (auto st = db::validate_number(number); !st) return report(st.error());
    return with_connection(config, [&](pqxx::connection& conn) {
        auto r = db::get_extension(conn, number);
        if (!r) return report(r.error());
        if (!*r) return report(Error{0, "extension " + number + " does not exist"});
        const db::Extension& e = **r;
        std::printf("number:   %s\n", e.number.c_str());
        std::printf("name:     %s\n", e.display_name.c_str());
        std::printf("realm:    %s\n", e.realm.c_str());
        std::printf("enabled:  %s\n", e.enabled ? "yes" : "no");
        std::string tones = e.tones ? *e.tones : system_tones(config);
        // Only the shape is checked by the database (a plan could also be gone after a
        // downgrade): say when calls hear the system's plan instead.
        if (e.tones && !media::dsp::find_tone_plan(*e.tones))
            tones += " (no such plan here: its calls hear " + system_tones(config) + ")";
        std::printf("tones:    %s\n", tones.c_str());
        return 0;
    });
}

int ext_set(const Config& config, const ExtArgs& a) {
    if (!a.password && !a.name && !a.enabled && !a.tones)
        return report(
            Error{0, "nothing to change: give --password, --name, --enable, --disable or --tones"});
    std::optional<std::optional<std::string>> tones;
    if (a.tones) {
        auto t = parse_tones(*a.tones);
        if (!t) return report(t.error());
        tones.emplace(*t);
    }
    return with_connection(config, [&](pqxx::connection& conn) {
        std::optional<std::string_view> pw, name;
        if (a.password) pw = *a.password;
        if (a.name) name = *a.name;
        std::optional<std::optional<std::string_view>> tones_view;
        if (tones)
            tones_view.emplace(*tones ? std::optional<std::string_view>(**tones) : std::nullopt);
        auto r =
            db::update_extension(conn, a.number, pw, name, a.enabled, config.realm, tones_view);
        if (!r) return report(r.error());
        std::printf("extension %s updated\n", r->number.c_str());
        return 0;
    });
}

int ext_del(const Config& config, const std::string& number) {
    return with_connection(config, [&](pqxx::connection& conn) {
        auto r = db::delete_extension(conn, number);
        if (!r) return report(r.error());
        // Its registrations go with it: a deleted extension must not stay reachable.
        if (auto b = db::delete_all_bindings(conn, "sip:" + number); !b) return report(b.error());
        std::printf("extension %s deleted\n", number.c_str());
        return 0;
    });
}

int ext_import(const Config& config, const std::string& file) {
    // CSV lines "number,password[,display name]"; '#' starts a comment. Every line is checked
    // before anything is written, so a bad file adds nothing.
    std::ifstream in(file);
    if (!in) return report(Error{0, "cannot read " + file});
    struct Row {
        std::string number, password, name;
    };
    std::vector<Row> rows;
    std::string line;
    int line_no = 0, bad = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        Row r;
        std::size_t c1 = line.find(',');
        std::size_t c2 = c1 == std::string::npos ? c1 : line.find(',', c1 + 1);
        r.number = line.substr(0, c1);
        if (c1 != std::string::npos) r.password = line.substr(c1 + 1, c2 == std::string::npos ? c2 : c2 - c1 - 1);
        if (c2 != std::string::npos) r.name = line.substr(c2 + 1);
        Status st = db::validate_number(r.number);
        if (st) st = db::validate_password(r.password);
        if (st) st = db::validate_display_name(r.name);
        if (!st) {
            std::fprintf(stderr, "%s:%d: %s\n", file.c_str(), line_no, st.error().message.c_str());
            ++bad;
            continue;
        }
        rows.push_back(std::move(r));
    }
    if (bad) return report(Error{0, std::to_string(bad) + " bad line(s); nothing imported"});
    return with_connection(config, [&](pqxx::connection& conn) {
        std::size_t added = 0;
        for (const Row& r : rows) {
            auto e = db::add_extension(conn, r.number, r.password, r.name, config.realm);
            if (!e) {
                std::fprintf(stderr, "error: %s (%zu of %zu imported before it)\n", e.error().message.c_str(), added,
                             rows.size());
                return 1;
            }
            ++added;
        }
        std::printf("%zu extensions imported\n", added);
        return 0;
    });
}

int db_migrate(const Config& config) {
    auto d = open_database(config);  // migrates
    if (!d) return report(d.error());
    std::printf("database schema is up to date\n");
    return 0;
}

}  // namespace sb::app
