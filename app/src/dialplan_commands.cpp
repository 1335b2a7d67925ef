// `switchboard dialplan ...`: working with dialplan scripts from the command line.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "sb/dialplan/engine.h"

namespace sb::app {

int dialplan_check(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "error: cannot read %s\n", file.c_str());
        return 1;
    }
    std::stringstream text;
    text << in.rdbuf();
    // The name in messages is the file's base name, as administrators see it in their editor.
    std::string name = file.substr(file.find_last_of('/') == std::string::npos ? 0 : file.find_last_of('/') + 1);
    dialplan::Engine engine;
    auto script = engine.check(text.str(), name);
    if (!script) {
        std::fprintf(stderr, "%s\n", script.error().message.c_str());
        return 1;
    }
    std::printf("%s: OK\n", name.c_str());
    return 0;
}

}  // namespace sb::app
