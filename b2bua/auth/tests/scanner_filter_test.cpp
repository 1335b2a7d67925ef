#include "sb/auth/scanner_filter.h"

#include <gtest/gtest.h>

namespace sb::auth {
namespace {

TEST(ScannerFilter, RecognisesKnownScannersCaseInsensitively) {
    ScannerFilter f;
    EXPECT_TRUE(f.is_scanner("friendly-scanner"));
    EXPECT_TRUE(f.is_scanner("SIPVicious 0.3.4"));
    EXPECT_TRUE(f.is_scanner("sipcli/v1.8"));
    EXPECT_TRUE(f.is_scanner("sundayddr"));
    EXPECT_TRUE(f.is_scanner("VaxSIPUserAgent/3.1"));
    EXPECT_TRUE(f.is_scanner("PPLSIP"));
    EXPECT_TRUE(f.is_scanner("iWar"));
    EXPECT_TRUE(f.is_scanner("sip-scan"));
}

TEST(ScannerFilter, LeavesRealPhonesAlone) {
    ScannerFilter f;
    EXPECT_FALSE(f.is_scanner(""));
    EXPECT_FALSE(f.is_scanner("Yealink SIP-T46S 66.86.0.15"));
    EXPECT_FALSE(f.is_scanner("Grandstream GXP2170 1.0.11.3"));
    EXPECT_FALSE(f.is_scanner("baresip v2.0.0 (x86_64/linux)"));
    EXPECT_FALSE(f.is_scanner("Linphone/5.0.0 (belle-sip/5.0.0)"));
    EXPECT_FALSE(f.is_scanner("Zoiper rv2.10.18.4"));
}

TEST(ScannerFilter, ConfigurableAndDisableable) {
    ScannerFilter off(ScannerConfig{.enabled = false});
    EXPECT_FALSE(off.is_scanner("friendly-scanner"));
    ScannerFilter custom(ScannerConfig{.enabled = true, .user_agent_substrings = {"EvilBot", ""}});
    EXPECT_TRUE(custom.is_scanner("x evilbot/1"));
    EXPECT_FALSE(custom.is_scanner("friendly-scanner"));  // the list replaces the defaults
    EXPECT_FALSE(custom.is_scanner("Yealink"));           // the empty needle matches nothing
}

}  // namespace
}  // namespace sb::auth
