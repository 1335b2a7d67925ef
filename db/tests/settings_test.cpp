#include "sb/db/settings.h"
#include "test_cluster.h"

#include <gtest/gtest.h>

#include <thread>

namespace sb::db::test {
namespace {

TEST_F(DbTest, GetAndSetSettings) {
    auto missing = get_setting(conn(), "greeting");
    ASSERT_TRUE(missing) << missing.error().message;
    EXPECT_FALSE(missing->has_value());

    ASSERT_TRUE(set_setting(conn(), "greeting", "hello"));
    ASSERT_TRUE(set_setting(conn(), "greeting", "hello again"));
    auto got = get_setting(conn(), "greeting");
    ASSERT_TRUE(got);
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(**got, "hello again");

    EXPECT_FALSE(set_setting(conn(), "", "x"));
}

TEST_F(DbTest, ServerSecretIsCreatedOnceAndKept) {
    auto first = server_secret(conn());
    ASSERT_TRUE(first) << first.error().message;
    ASSERT_EQ(first->size(), 64u);
    EXPECT_EQ(first->find_first_not_of("0123456789abcdef"), std::string::npos);
    auto second = server_secret(conn());
    ASSERT_TRUE(second);
    EXPECT_EQ(*second, *first);
    auto stored = get_setting(conn(), kServerSecretKey);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->value_or(""), *first);
}

TEST_F(DbTest, ConcurrentFirstUseAgreesOnOneSecret) {
    constexpr int kThreads = 4;
    std::vector<std::string> secrets(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            pqxx::connection c(shared_conninfo());
            auto s = server_secret(c);
            secrets[i] = s ? *s : "error: " + s.error().message;
        });
    }
    for (auto& t : threads) t.join();
    for (const auto& s : secrets) EXPECT_EQ(s, secrets[0]);
    EXPECT_EQ(secrets[0].size(), 64u);
}

}  // namespace
}  // namespace sb::db::test
