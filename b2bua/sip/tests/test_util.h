#pragma once
#include <fstream>
#include <sstream>
#include <string>

namespace sb::sip::testing {

inline std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// Test messages are written with \n; SIP wants CRLF.
inline std::string crlf(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\n') out += "\r\n";
        else out += c;
    }
    return out;
}

}  // namespace sb::sip::testing
