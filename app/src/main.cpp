// The `switchboard` command: run the PBX, manage extensions, migrate the database.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "config.h"
#include "sb/common/log.h"

namespace {

// "--password -" reads the password from standard input (keeps it out of `ps` and shell history).
std::optional<std::string> read_password(const std::optional<std::string>& given) {
    if (!given || *given != "-") return given;
    std::string line;
    std::getline(std::cin, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Switchboard: an office IP PBX (SIP B2BUA, Lua dialplan, PostgreSQL)",
                 "switchboard"};
    app.require_subcommand(1);
    std::string config_file, data_dir, db_dsn, log_level;
    auto add_common = [&](CLI::App* cmd) {
        cmd->add_option("--config", config_file, "TOML configuration file")
            ->check(CLI::ExistingFile);
        cmd->add_option("--data-dir", data_dir,
                        "data directory (embedded PostgreSQL lives here; default ./var)");
        cmd->add_option(
            "--db", db_dsn,
            "PostgreSQL connection string (postgresql://...) instead of the embedded one");
        cmd->add_option("--log-level", log_level, "trace, debug, info, warn, error or off");
    };

    std::vector<std::string> listen;
    CLI::App* run = app.add_subcommand("run", "run the PBX until SIGINT or SIGTERM");
    add_common(run);
    run->add_option("--sip-listen", listen,
                    "SIP address to listen on, UDP and TCP (ADDR:PORT, [V6]:PORT; prefix udp: or "
                    "tcp: for one); "
                    "repeatable; default 0.0.0.0:5060");

    CLI::App* ext = app.add_subcommand("ext", "manage extensions (phones' accounts)");
    ext->require_subcommand(1);
    sb::app::ExtArgs ext_args;
    std::optional<std::string> password, name, tones, media;
    bool enable = false, disable = false;
    CLI::App* ext_add = ext->add_subcommand("add", "add an extension");
    add_common(ext_add);
    ext_add->add_option("number", ext_args.number, "extension number, e.g. 1001")->required();
    ext_add
        ->add_option("--password", password,
                     "SIP password, 8 to 128 characters ('-' reads it from stdin)")
        ->required();
    ext_add->add_option("--name", name, "display name");
    ext_add->add_option(
        "--tones", tones,
        "call progress tones of its calls: a country code (US, GB or UK, DE, FR, CN, JP); "
        "default: the system's [media] tones");
    ext_add->add_option(
        "--media", media,
        "where its calls' RTP goes: direct (straight between the phones, with other direct "
        "extensions, when the call needs nothing of the PBX's media) or anchor (through the PBX); "
        "default: the system's [media] mode");
    CLI::App* ext_list = ext->add_subcommand("list", "list extensions");
    add_common(ext_list);
    CLI::App* ext_show = ext->add_subcommand("show", "show one extension");
    add_common(ext_show);
    ext_show->add_option("number", ext_args.number, "extension number")->required();
    CLI::App* ext_set = ext->add_subcommand("set", "change an extension");
    add_common(ext_set);
    ext_set->add_option("number", ext_args.number, "extension number")->required();
    ext_set->add_option("--password", password, "new SIP password ('-' reads it from stdin)");
    ext_set->add_option("--name", name, "new display name");
    ext_set->add_flag("--enable", enable, "allow it to register and call");
    ext_set->add_flag("--disable", disable, "refuse its registrations and calls");
    ext_set->add_option("--tones", tones,
                        "its calls' tones: a country code, or 'system' for [media] tones");
    ext_set->add_option("--media", media,
                        "its calls' media: direct, anchor, or 'system' for [media] mode");
    CLI::App* ext_del = ext->add_subcommand("del", "delete an extension and its registrations");
    add_common(ext_del);
    ext_del->add_option("number", ext_args.number, "extension number")->required();

    std::string import_file;
    CLI::App* ext_import = ext->add_subcommand(
        "import",
        "add many extensions from a CSV file: a header naming the columns "
        "(number,password,name,tones,media), or none and number,password[,name] per line; "
        "a file with a bad line adds nothing");
    add_common(ext_import);
    ext_import->add_option("file", import_file, "CSV file")->required()->check(CLI::ExistingFile);

    CLI::App* dialplan = app.add_subcommand("dialplan", "the Lua dialplan");
    dialplan->require_subcommand(1);
    std::string dialplan_file;
    CLI::App* dialplan_check = dialplan->add_subcommand(
        "check", "compile a dialplan script and report its errors with line numbers");
    add_common(dialplan_check);
    dialplan_check->add_option("file", dialplan_file, "Lua script")
        ->required()
        ->check(CLI::ExistingFile);
    std::string dialplan_comment;
    CLI::App* dialplan_load =
        dialplan->add_subcommand("load",
                                 "check a script, then store it as a new version and make it "
                                 "active (running PBXes follow at once)");
    add_common(dialplan_load);
    dialplan_load->add_option("file", dialplan_file, "Lua script")
        ->required()
        ->check(CLI::ExistingFile);
    dialplan_load->add_option("--comment", dialplan_comment,
                              "a note kept with the version (shown by list)");
    CLI::App* dialplan_list =
        dialplan->add_subcommand("list", "list the stored versions; * marks the active one");
    add_common(dialplan_list);
    std::optional<std::int64_t> dialplan_version;
    CLI::App* dialplan_show = dialplan->add_subcommand(
        "show", "print a stored version's source (default: the active one)");
    add_common(dialplan_show);
    dialplan_show->add_option("version", dialplan_version, "version number (see list)");
    std::int64_t activate_version = 0;
    CLI::App* dialplan_activate = dialplan->add_subcommand(
        "activate", "make a stored version active (rollback); running PBXes follow at once");
    add_common(dialplan_activate);
    dialplan_activate->add_option("version", activate_version, "version number (see list)")
        ->required();
    sb::app::SimulateArgs simulate;
    CLI::App* dialplan_simulate = dialplan->add_subcommand(
        "simulate",
        "run a dialplan against a pretend call and print each step it takes (places no call)");
    add_common(dialplan_simulate);
    dialplan_simulate->add_option("--from", simulate.from, "caller's number (default 1001)");
    dialplan_simulate->add_option("--to", simulate.to, "dialled number")->required();
    dialplan_simulate->add_option("--name", simulate.name, "caller's display name");
    dialplan_simulate->add_flag("--from-trunk", simulate.from_trunk,
                                "the call comes from a trunk (call.extension is nil)");
    dialplan_simulate->add_option("--header", simulate.headers,
                                  "a header of the INVITE, 'Name: value'; repeatable");
    dialplan_simulate->add_option(
        "--outcome", simulate.outcomes,
        "how each bridge ends, in order: answered, busy, noanswer, unavailable or failed, "
        "optionally "
        ":CODE (busy:600, failed:503); repeatable; once they run out, unavailable (480)");
    dialplan_simulate->add_option(
        "--digits", simulate.digits,
        "the keys the caller presses for each collect_digits or play_and_collect, in "
        "order (\"42#\"; \"\" for none, as on a timeout); repeatable; once they run "
        "out, none");
    auto* sim_file =
        dialplan_simulate
            ->add_option("--file", simulate.file, "run this script (the database is not used)")
            ->check(CLI::ExistingFile);
    dialplan_simulate
        ->add_option("--version", simulate.version,
                     "run this stored version (default: the active one)")
        ->excludes(sim_file);

    CLI::App* calls =
        app.add_subcommand("calls", "call records: who called whom, when, how it ended, its media");
    calls->require_subcommand(1);
    sb::app::CallsArgs calls_args;
    CLI::App* calls_list = calls->add_subcommand("list", "the most recent calls, newest first");
    add_common(calls_list);
    calls_list->add_option("--limit", calls_args.limit, "how many (1 to 1000, default 20)")
        ->check(CLI::Range(1, 1000));
    calls_list->add_option("--number", calls_args.number, "only calls from or to this number");
    calls_list->add_option("--before", calls_args.before,
                           "only calls older than this ID (the next page)");
    std::int64_t call_id = 0;
    CLI::App* calls_show =
        calls->add_subcommand("show", "one call: its legs, their media and RTP figures");
    add_common(calls_show);
    calls_show->add_option("id", call_id, "the call's ID (see list)")->required();

    CLI::App* dbcmd = app.add_subcommand("db", "database maintenance");
    dbcmd->require_subcommand(1);
    CLI::App* migrate = dbcmd->add_subcommand("migrate", "apply pending schema migrations");
    add_common(migrate);

    CLI11_PARSE(app, argc, argv);

    sb::app::Config config;
    if (!config_file.empty()) {
        if (auto st = sb::app::load_config_file(config_file, config); !st) {
            std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
            return 2;
        }
    }
    if (!data_dir.empty()) config.data_dir = data_dir;
    if (!db_dsn.empty()) config.db_dsn = db_dsn;
    if (!log_level.empty()) config.log_level = log_level;
    if (!listen.empty()) config.sip_listen = listen;
    sb::log::Level level;
    if (!sb::log::parse_level(config.log_level, level)) {
        std::fprintf(stderr, "error: unknown log level '%s'\n", config.log_level.c_str());
        return 2;
    }
    sb::log::set_level(level);

    if (run->parsed()) return sb::app::run_server(config);
    if (migrate->parsed()) return sb::app::db_migrate(config);
    if (dialplan_check->parsed()) return sb::app::dialplan_check(dialplan_file);
    if (dialplan_load->parsed())
        return sb::app::dialplan_load(config, dialplan_file, dialplan_comment);
    if (dialplan_list->parsed()) return sb::app::dialplan_list(config);
    if (dialplan_show->parsed()) return sb::app::dialplan_show(config, dialplan_version);
    if (dialplan_activate->parsed()) return sb::app::dialplan_activate(config, activate_version);
    if (dialplan_simulate->parsed()) return sb::app::dialplan_simulate(config, simulate);
    if (calls_list->parsed()) return sb::app::calls_list(config, calls_args);
    if (calls_show->parsed()) return sb::app::calls_show(config, call_id);
    ext_args.password = read_password(password);
    ext_args.name = name;
    ext_args.tones = tones;
    ext_args.media = media;
    if (enable && disable) {
        std::fprintf(stderr, "error: --enable and --disable together\n");
        return 2;
    }
    if (enable) ext_args.enabled = true;
    if (disable) ext_args.enabled = false;
    if (ext_add->parsed()) return sb::app::ext_add(config, ext_args);
    if (ext_list->parsed()) return sb::app::ext_list(config);
    if (ext_show->parsed()) return sb::app::ext_show(config, ext_args.number);
    if (ext_set->parsed()) return sb::app::ext_set(config, ext_args);
    if (ext_del->parsed()) return sb::app::ext_del(config, ext_args.number);
    if (ext_import->parsed()) return sb::app::ext_import(config, import_file);
    return 2;
}
