#pragma once
// Recognises the User-Agents of well-known SIP scanning tools, so their requests can be dropped
// (or their source banned) before any work is spent on them. A cheap first filter only: scanners
// can send any User-Agent, so the BanList is what actually stops password guessing.
#include <string>
#include <string_view>
#include <vector>

namespace sb::auth {

// friendly-scanner and sipvicious (SIPVicious svmap/svwar/svcrack defaults), sipcli, sip-scan,
// iWar, sundayddr, pplsip, VaxSIPUserAgent (a softphone SDK's default agent, seen in brute force
// campaigns; remove it from the list if a legitimate phone of yours uses that SDK unchanged).
std::vector<std::string> default_scanner_user_agents();

struct ScannerConfig {
    bool enabled = true;
    std::vector<std::string> user_agent_substrings = default_scanner_user_agents();
};

class ScannerFilter {
public:
    explicit ScannerFilter(ScannerConfig config = {});
    // True when enabled and user_agent contains one of the substrings, case-insensitively.
    // Thread-safe (read-only after construction).
    bool is_scanner(std::string_view user_agent) const;

private:
    bool enabled_;
    std::vector<std::string> needles_;  // lower case, empty ones removed
};

}  // namespace sb::auth
