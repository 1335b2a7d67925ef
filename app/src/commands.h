#pragma once
#include <optional>
#include <string>

#include "config.h"

namespace sb::app {

int run_server(Config config);

struct ExtArgs {
    std::string number;
    std::optional<std::string> password;
    std::optional<std::string> name;
    std::optional<bool> enabled;
};
int ext_add(const Config& config, const ExtArgs& args);
int ext_list(const Config& config);
int ext_set(const Config& config, const ExtArgs& args);
int ext_del(const Config& config, const std::string& number);
int ext_import(const Config& config, const std::string& csv_file);
int db_migrate(const Config& config);
int dialplan_check(const std::string& file);

}  // namespace sb::app
