// The credential cache: what a reload puts in is what find returns, tone plan included.
#include <gtest/gtest.h>

#include "sb/registrar/credential_cache.h"

namespace sb::registrar {
namespace {

Credential credential(std::string number, std::optional<std::string> tones = std::nullopt) {
    Credential c;
    c.number = std::move(number);
    c.realm = "switchboard";
    c.ha1_md5 = std::string(32, 'a');
    c.ha1_sha256 = std::string(64, 'b');
    c.tones = std::move(tones);
    return c;
}

TEST(CredentialCache, FindReturnsTheTonesOfTheLoad) {
    CredentialCache cache;
    cache.replace_all({credential("1001", "GB"), credential("1002")});
    EXPECT_EQ(cache.size(), 2u);
    auto uk = cache.find("1001");
    ASSERT_TRUE(uk);
    EXPECT_EQ(uk->tones, "GB");
    auto system = cache.find("1002");
    ASSERT_TRUE(system);
    EXPECT_EQ(system->tones, std::nullopt) << "nullopt: the system's plan";
    EXPECT_FALSE(cache.find("1003"));
}

// A NOTIFY reloads one extension with upsert: a new plan replaces the old, a cleared one is gone.
TEST(CredentialCache, UpsertReplacesTheTones) {
    CredentialCache cache;
    cache.replace_all({credential("1001")});
    cache.upsert(credential("1001", "DE"));
    EXPECT_EQ(cache.find("1001")->tones, "DE");
    cache.upsert(credential("1001", "GB"));
    EXPECT_EQ(cache.find("1001")->tones, "GB");
    cache.upsert(credential("1001"));
    EXPECT_EQ(cache.find("1001")->tones, std::nullopt);
    EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace sb::registrar
