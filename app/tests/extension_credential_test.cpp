// What the B2BUA gets of an extension's row (extension_credential.h), above all its tone plan:
// the database checks only the code's shape, so a code with no plan must not reach a call.
#include "extension_credential.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace sb::app {
namespace {

db::Extension row(std::optional<std::string> tones,
                  std::optional<std::string> media = std::nullopt) {
    return db::Extension{
        "1001", "Desk",           "switchboard",   std::string(32, 'a'), std::string(64, 'b'),
        true,   std::move(tones), std::move(media)};
}

TEST(ExtensionCredential, CarriesTheRow) {
    ToneWarnings warnings;
    registrar::Credential c = to_credential(row("GB"), warnings);
    EXPECT_EQ(c.number, "1001");
    EXPECT_EQ(c.display_name, "Desk");
    EXPECT_EQ(c.realm, "switchboard");
    EXPECT_EQ(c.ha1_md5, std::string(32, 'a'));
    EXPECT_EQ(c.ha1_sha256, std::string(64, 'b'));
    EXPECT_TRUE(c.enabled);
    EXPECT_EQ(c.tones, "GB");
    EXPECT_EQ(c.media, std::nullopt) << "the system's mode";
}

// The media mode goes to the B2BUA as stored (the database allows only these two), whatever the
// tone plan is.
TEST(ExtensionCredential, CarriesTheMediaMode) {
    ToneWarnings warnings;
    EXPECT_EQ(to_credential(row(std::nullopt, "direct"), warnings).media, "direct");
    EXPECT_EQ(to_credential(row("GB", "anchor"), warnings).media, "anchor");
    testing::internal::CaptureStderr();
    registrar::Credential c = to_credential(row("XX", "direct"), warnings);
    testing::internal::GetCapturedStderr();
    EXPECT_EQ(c.tones, std::nullopt);
    EXPECT_EQ(c.media, "direct") << "a tone plan we lack costs nothing of the media mode";
}

TEST(ExtensionCredential, SystemPlanStaysTheSystems) {
    ToneWarnings warnings;
    testing::internal::CaptureStderr();
    EXPECT_EQ(to_credential(row(std::nullopt), warnings).tones, std::nullopt);
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "") << "nothing to warn about";
}

TEST(ExtensionCredential, KnownPlanByItsCode) {
    // The CLI stores codes as the media engine names them, but the column takes any two
    // upper-case letters: ISO's reserved UK is GB's plan.
    ToneWarnings warnings;
    EXPECT_EQ(to_credential(row("UK"), warnings).tones, "GB");
    EXPECT_EQ(to_credential(row("DE"), warnings).tones, "DE");
}

TEST(ExtensionCredential, UnknownPlanIsTheSystemsWithAWarning) {
    ToneWarnings warnings;
    testing::internal::CaptureStderr();
    registrar::Credential c = to_credential(row("XX"), warnings);
    std::string log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(c.tones, std::nullopt) << "the call must not be handed a plan the media engine lacks";
    EXPECT_EQ(c.number, "1001") << "the extension itself still registers and calls";
    EXPECT_NE(log.find("WARN"), std::string::npos) << log;
    EXPECT_NE(log.find("extension 1001"), std::string::npos) << log;
    EXPECT_NE(log.find("no tone plan for country 'XX'"), std::string::npos) << log;
    EXPECT_NE(log.find("system's plan"), std::string::npos) << log;
}

// Loading the row again (its change, the listener's reconnect) says nothing new; another bad
// code, or the same one after the row had a good plan, is worth a warning again.
TEST(ExtensionCredential, UnknownPlanIsWarnedAboutOnce) {
    ToneWarnings warnings;
    auto warned = [&](std::optional<std::string> tones) {
        testing::internal::CaptureStderr();
        registrar::Credential c = to_credential(row(std::move(tones)), warnings);
        EXPECT_EQ(c.number, "1001");
        return testing::internal::GetCapturedStderr().find("WARN") != std::string::npos;
    };
    EXPECT_TRUE(warned("XX"));
    EXPECT_FALSE(warned("XX"));
    EXPECT_FALSE(warned("XX"));
    EXPECT_TRUE(warned("ZZ"));
    EXPECT_FALSE(warned("GB"));
    EXPECT_TRUE(warned("ZZ"));
    EXPECT_FALSE(warned(std::nullopt));
    EXPECT_TRUE(warned("ZZ"));
    warnings.forget("1001");  // deleted, then written again by hand
    EXPECT_TRUE(warned("ZZ"));
}

}  // namespace
}  // namespace sb::app
