#include "sb/auth/scanner_filter.h"

#include <algorithm>

#include "ascii.h"

namespace sb::auth {

std::vector<std::string> default_scanner_user_agents() {
    return {"friendly-scanner", "sipvicious", "sipcli", "sip-scan", "iWar",
            "sundayddr",        "pplsip",     "VaxSIPUserAgent"};
}

ScannerFilter::ScannerFilter(ScannerConfig config) : enabled_(config.enabled) {
    for (std::string& s : config.user_agent_substrings) {
        if (s.empty()) continue;  // an empty needle would match every User-Agent
        for (char& c : s) c = detail::to_lower(c);
        needles_.push_back(std::move(s));
    }
}

bool ScannerFilter::is_scanner(std::string_view user_agent) const {
    if (!enabled_) return false;
    auto eq = [](char a, char b) { return detail::to_lower(a) == b; };
    for (const std::string& n : needles_) {
        if (std::search(user_agent.begin(), user_agent.end(), n.begin(), n.end(), eq) != user_agent.end()) {
            return true;
        }
    }
    return false;
}

}  // namespace sb::auth
