#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config.h"

namespace sb::app {

int run_server(Config config);

struct ExtArgs {
    std::string number;
    std::optional<std::string> password;
    std::optional<std::string> name;
    std::optional<bool> enabled;
    std::optional<std::string> tones;  // a country code ("GB", "uk") or "system"
    std::optional<std::string> media;  // "direct", "anchor" or "system"
};
int ext_add(const Config& config, const ExtArgs& args);
int ext_list(const Config& config);
int ext_show(const Config& config, const std::string& number);
int ext_set(const Config& config, const ExtArgs& args);
int ext_del(const Config& config, const std::string& number);
int ext_import(const Config& config, const std::string& csv_file);
int db_migrate(const Config& config);
int dialplan_check(const std::string& file);
int dialplan_load(const Config& config, const std::string& file, const std::string& comment);
int dialplan_list(const Config& config);
int dialplan_show(const Config& config,
                  std::optional<std::int64_t> version);  // default: the active one
int dialplan_activate(const Config& config, std::int64_t version);

struct SimulateArgs {
    std::string from = "1001";
    std::string to;
    std::string name;                   // caller's display name
    bool from_trunk = false;            // no calling extension
    std::vector<std::string> headers;   // "Name: value"
    std::vector<std::string> outcomes;  // "busy", "failed:503", one per bridge wait
    std::vector<std::string> digits;    // keys pressed, one string per collect_digits
    std::optional<std::string> file;    // else the stored version, else the active one
    std::optional<std::int64_t> version;
};
int dialplan_simulate(const Config& config, const SimulateArgs& args);

struct CallsArgs {
    std::size_t limit = 20;
    std::string number;       // only calls from or to it
    std::int64_t before = 0;  // only records older than this id (paging)
};
int calls_list(const Config& config, const CallsArgs& args);
int calls_show(const Config& config, std::int64_t id);

}  // namespace sb::app
