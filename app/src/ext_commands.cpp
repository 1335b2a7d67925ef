// `switchboard ext ...` and `switchboard db migrate`: administration from the command line.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "cli.h"
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

// A tone plan given by an administrator (`--tones`, an import's tones column): "system" is the
// system's plan ([media] tones), stored as NULL; anything else must name one of the media
// engine's plans and is stored as its code ("uk" -> "GB"), so an extension can never hold a plan
// the PBX cannot play. `what` names the value in the error, `system_hint` says how to ask for
// the system's plan.
Result<std::optional<std::string>> parse_tones(std::string_view given, std::string_view what,
                                               std::string_view system_hint) {
    if (given == "system") return std::optional<std::string>{};
    auto plan = media::dsp::find_tone_plan(given);
    if (!plan) {
        return Unexpected<Error>{Error{0, std::string(what) + ": " + plan.error().message + "; " +
                                              std::string(system_hint) + " for [media] tones"}};
    }
    return std::optional<std::string>{std::string((*plan)->country)};
}

Result<std::optional<std::string>> parse_tones(std::string_view given) {
    return parse_tones(given, "--tones", "or 'system'");
}

// The system's plan as configured, by its code ("uk" in the file shows as GB).
std::string system_tones(const Config& config) {
    auto plan = media::dsp::find_tone_plan(config.media.tones);
    return "system (" + (plan ? std::string((*plan)->country) : config.media.tones) + ")";
}

// A media mode given by an administrator (`--media`, an import's media column), in any case:
// "system" is the system's mode ([media] mode), stored as NULL; "direct" or "anchor" is stored as
// it is. `what` names the value in the error, `system_hint` says how to ask for the system's mode.
Result<std::optional<std::string>> parse_media(std::string_view given, std::string_view what,
                                               std::string_view system_hint) {
    std::string mode(given);
    for (char& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (mode == "system") return std::optional<std::string>{};
    if (!db::validate_media(mode)) {
        return Unexpected<Error>{Error{0, std::string(what) + ": '" + std::string(given) +
                                              "' is not a media mode (known: direct, anchor; " +
                                              std::string(system_hint) + " for [media] mode)"}};
    }
    return std::optional<std::string>{std::move(mode)};
}

Result<std::optional<std::string>> parse_media(std::string_view given) {
    return parse_media(given, "--media", "or 'system'");
}

// The system's mode as configured.
std::string system_media(const Config& config) {
    return std::string("system (") + (config.media.anchor ? "anchor" : "direct") + ")";
}

// One line of CSV split into its fields (RFC 4180: a field in double quotes may hold commas, and
// "" in it is one quote). A quoted field does not span lines: no value of an extension holds a
// line break. nullopt: a quote is not closed, or text follows a closing quote.
std::optional<std::vector<std::string>> split_csv(std::string_view line) {
    std::vector<std::string> fields;
    std::size_t i = 0;
    for (;;) {
        std::string field;
        if (i < line.size() && line[i] == '"') {
            for (++i;; ++i) {
                if (i >= line.size()) return std::nullopt;
                if (line[i] != '"') {
                    field += line[i];
                } else if (i + 1 < line.size() && line[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else {
                    ++i;
                    break;
                }
            }
            if (i < line.size() && line[i] != ',') return std::nullopt;
        } else {
            std::size_t end = std::min(line.find(',', i), line.size());
            field = line.substr(i, end - i);
            i = end;
        }
        fields.push_back(std::move(field));
        if (i >= line.size()) return fields;
        ++i;  // past the comma
    }
}

constexpr const char* kKnownColumns = "number, password, name, tones, media";

// Where each column of an import is, by the file's header line.
struct ImportColumns {
    std::vector<std::string> names;  // as the header has them, lower case
    std::optional<std::size_t> number, password, name, tones, media;

    // Where the column named `n` goes; nullptr for no column we know.
    std::optional<std::size_t>* slot(std::string_view n) {
        return n == "number"     ? &number
               : n == "password" ? &password
               : n == "name"     ? &name
               : n == "tones"    ? &tones
               : n == "media"    ? &media
                                 : nullptr;
    }
};

// The header of an import: a first line that starts with a column name (any case, spaces around
// it ignored), which no extension number of a headerless file does in practice. nullopt: the line
// is no header but a headerless file's first extension. An error: a header with an unknown,
// repeated or missing column.
std::optional<Result<ImportColumns>> parse_header(std::string_view line) {
    auto fields = split_csv(line);
    if (!fields) return std::nullopt;
    ImportColumns c;
    for (std::string f : *fields) {
        std::size_t b = f.find_first_not_of(' '), e = f.find_last_not_of(' ');
        f = b == std::string::npos ? std::string() : f.substr(b, e - b + 1);
        for (char& ch : f) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        c.names.push_back(std::move(f));
    }
    if (!c.slot(c.names.front())) return std::nullopt;
    auto error = [](std::string message) {
        return std::optional<Result<ImportColumns>>{
            Unexpected<Error>{Error{0, std::move(message)}}};
    };
    for (std::size_t i = 0; i < c.names.size(); ++i) {
        const std::string& n = c.names[i];
        std::optional<std::size_t>* slot = c.slot(n);
        if (!slot)
            return error("header: unknown column '" + n + "' (known: " + kKnownColumns + ")");
        if (*slot) return error("header: column '" + n + "' appears twice");
        *slot = i;
    }
    if (!c.number) return error("header: no 'number' column");
    if (!c.password) return error("header: no 'password' column");
    return std::optional<Result<ImportColumns>>{std::move(c)};
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
    std::optional<std::string> media;
    if (a.media) {
        auto m = parse_media(*a.media);
        if (!m) return report(m.error());
        media = *m;
    }
    return with_connection(config, [&](pqxx::connection& conn) {
        auto r = db::add_extension(conn, a.number, a.password.value_or(""), a.name.value_or(""),
                                   config.realm, tones, media);
        if (!r) return report(r.error());
        std::printf("extension %s added (realm %s)\n", r->number.c_str(), r->realm.c_str());
        return 0;
    });
}

int ext_list(const Config& config) {
    return with_connection(config, [&](pqxx::connection& conn) {
        auto r = db::list_extensions(conn);
        if (!r) return report(r.error());
        std::printf("%-12s %-8s %-14s %-7s %-7s %s\n", "NUMBER", "ENABLED", "REALM", "TONES",
                    "MEDIA", "NAME");
        for (const auto& e : *r)
            std::printf("%-12s %-8s %-14s %-7s %-7s %s\n", e.number.c_str(),
                        e.enabled ? "yes" : "no", e.realm.c_str(),
                        e.tones.value_or("system").c_str(), e.media.value_or("system").c_str(),
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
        std::printf("media:    %s\n", e.media ? e.media->c_str() : system_media(config).c_str());
        return 0;
    });
}

int ext_set(const Config& config, const ExtArgs& a) {
    if (!a.password && !a.name && !a.enabled && !a.tones && !a.media)
        return report(Error{0,
                            "nothing to change: give --password, --name, --enable, --disable, "
                            "--tones or --media"});
    std::optional<std::optional<std::string>> tones;
    if (a.tones) {
        auto t = parse_tones(*a.tones);
        if (!t) return report(t.error());
        tones.emplace(*t);
    }
    std::optional<std::optional<std::string>> media;
    if (a.media) {
        auto m = parse_media(*a.media);
        if (!m) return report(m.error());
        media.emplace(*m);
    }
    return with_connection(config, [&](pqxx::connection& conn) {
        std::optional<std::string_view> pw, name;
        if (a.password) pw = *a.password;
        if (a.name) name = *a.name;
        std::optional<std::optional<std::string_view>> tones_view;
        if (tones)
            tones_view.emplace(*tones ? std::optional<std::string_view>(**tones) : std::nullopt);
        std::optional<std::optional<std::string_view>> media_view;
        if (media)
            media_view.emplace(*media ? std::optional<std::string_view>(**media) : std::nullopt);
        auto r = db::update_extension(conn, a.number, pw, name, a.enabled, config.realm, tones_view,
                                      media_view);
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
    // Two forms (see split_csv and ImportColumns): a first line naming the columns, in any order
    // ("number,password,name,tones,media"), or none and "number,password[,display name]" per line,
    // the name being the rest of the line (commas and all, as before there were headers). '#'
    // starts a comment. Every line is checked before anything is written, so a bad file adds
    // nothing; then the file goes in as one transaction (db::add_extensions), so a number that
    // exists already (named with its line) adds nothing either, and the corrected file can
    // simply be run again.
    std::ifstream in(file);
    if (!in) return report(Error{0, "cannot read " + file});
    std::vector<db::NewExtension> rows;
    std::vector<int> row_lines;               // the line of each row
    std::map<std::string, int> number_lines;  // a number -> the line that has it
    std::optional<ImportColumns> columns;     // nullopt: the headerless form
    std::string line;
    int line_no = 0, bad = 0;
    bool first = true;
    auto bad_line = [&](int n, const std::string& message) {
        std::fprintf(stderr, "%s:%d: %s\n", file.c_str(), n, message.c_str());
        ++bad;
    };
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        // Spreadsheets saving "CSV UTF-8" start the file with a byte order mark.
        if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
        if (line.empty() || line[0] == '#') continue;
        if (first) {
            first = false;
            if (auto header = parse_header(line)) {
                if (!*header)
                    return report(Error{
                        0, file + ":" + std::to_string(line_no) + ": " + header->error().message});
                columns = **header;
                continue;
            }
        }
        db::NewExtension r;
        if (!columns) {
            std::size_t c1 = line.find(',');
            std::size_t c2 = c1 == std::string::npos ? c1 : line.find(',', c1 + 1);
            r.number = line.substr(0, c1);
            if (c1 != std::string::npos)
                r.password = line.substr(c1 + 1, c2 == std::string::npos ? c2 : c2 - c1 - 1);
            if (c2 != std::string::npos) r.display_name = line.substr(c2 + 1);
        } else {
            auto fields = split_csv(line);
            if (!fields) {
                bad_line(line_no,
                         "a quoted field is not closed, or text follows its closing quote");
                continue;
            }
            if (fields->size() > columns->names.size()) {
                bad_line(line_no,
                         std::to_string(fields->size()) + " fields, but the header names " +
                             std::to_string(columns->names.size()) +
                             " columns (a value with a comma in it goes in double quotes)");
                continue;
            }
            // A short line leaves its last columns empty.
            fields->resize(columns->names.size());
            auto field = [&](std::optional<std::size_t> at) {
                return at ? std::move((*fields)[*at]) : std::string();
            };
            r.number = field(columns->number);
            r.password = field(columns->password);
            r.display_name = field(columns->name);
            if (std::string t = field(columns->tones); !t.empty()) {
                auto tones = parse_tones(t, "tones", "empty or 'system'");
                if (!tones) {
                    bad_line(line_no, tones.error().message);
                    continue;
                }
                r.tones = *tones;
            }
            if (std::string m = field(columns->media); !m.empty()) {
                auto media = parse_media(m, "media", "empty or 'system'");
                if (!media) {
                    bad_line(line_no, media.error().message);
                    continue;
                }
                r.media = *media;
            }
        }
        Status st = db::validate_number(r.number);
        if (st) st = db::validate_password(r.password);
        if (st) st = db::validate_display_name(r.display_name);
        if (!st) {
            bad_line(line_no, st.error().message);
            continue;
        }
        // A number twice is a mistake in the file (which line was meant?), never "the last
        // one wins": both lines are named.
        if (auto [earlier, fresh] = number_lines.emplace(r.number, line_no); !fresh) {
            bad_line(line_no, "extension " + r.number + " is on line " +
                                  std::to_string(earlier->second) + " too");
            continue;
        }
        rows.push_back(std::move(r));
        row_lines.push_back(line_no);
    }
    if (bad) return report(Error{0, std::to_string(bad) + " bad line(s); nothing imported"});
    return with_connection(config, [&](pqxx::connection& conn) {
        auto added = db::add_extensions(conn, rows, config.realm);
        if (!added) {
            const db::BatchError& e = added.error();
            // Rows at fault were rolled back before any commit: nothing is in. Otherwise the
            // message says what is known (a commit whose outcome was lost says so).
            if (e.rows.empty()) return report(e.error);
            for (const db::BatchRowError& r : e.rows) bad_line(row_lines[r.index], r.error.message);
            return report(Error{0, std::to_string(e.rows.size()) +
                                       " line(s) refused by the database; nothing imported"});
        }
        std::printf("%zu extensions imported\n", added->size());
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
