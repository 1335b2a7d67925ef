#include "sb/db/dialplans.h"
#include "sb/db/listener.h"
#include "test_cluster.h"

#include <gtest/gtest.h>
#include <pqxx/nontransaction>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace sb::db::test {
namespace {

// DbTest empties the tables of 001; the dialplan tables are emptied here.
class DialplanTest : public DbTest {
  protected:
    void SetUp() override {
        DbTest::SetUp();
        pqxx::nontransaction tx(conn());
        tx.exec("truncate dialplan_active, dialplans restart identity");
    }
};

constexpr const char* kV1 = "function route(call) call:bridge(call.to) end\n";
constexpr const char* kV2 = "function route(call) call:hangup(404) end\n";

TEST_F(DialplanTest, FreshDatabaseHasNoActiveDialplan) {
    auto active = active_dialplan(conn());
    ASSERT_TRUE(active) << active.error().message;
    EXPECT_FALSE(active->has_value());
    auto all = list_dialplans(conn());
    ASSERT_TRUE(all);
    EXPECT_TRUE(all->empty());
}

TEST_F(DialplanTest, StoreKeepsEveryVersionAndActivatesNone) {
    auto v1 = store_dialplan(conn(), "office.lua", kV1, "first");
    auto v2 = store_dialplan(conn(), "office.lua", kV2);
    ASSERT_TRUE(v1) << v1.error().message;
    ASSERT_TRUE(v2) << v2.error().message;
    EXPECT_LT(*v1, *v2);

    auto got = get_dialplan(conn(), *v1);
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((*got)->version, *v1);
    EXPECT_EQ((*got)->name, "office.lua");
    EXPECT_EQ((*got)->source, kV1);
    EXPECT_EQ((*got)->comment, "first");
    EXPECT_EQ((*got)->sha256.size(), 64u);
    EXPECT_GT((*got)->created_at, 1'600'000'000);
    EXPECT_FALSE((*got)->active);

    auto active = active_dialplan(conn());
    ASSERT_TRUE(active);
    EXPECT_FALSE(active->has_value());
}

TEST_F(DialplanTest, GetUnknownVersionIsEmpty) {
    auto got = get_dialplan(conn(), 42);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_FALSE(got->has_value());
}

TEST_F(DialplanTest, ActivateSwitchesAndRollsBack) {
    auto v1 = store_dialplan(conn(), "office.lua", kV1);
    auto v2 = store_and_activate_dialplan(conn(), "office.lua", kV2);
    ASSERT_TRUE(v1 && v2);

    auto active = active_dialplan(conn());
    ASSERT_TRUE(active && active->has_value());
    EXPECT_EQ((*active)->version, *v2);
    EXPECT_EQ((*active)->source, kV2);
    EXPECT_TRUE((*active)->active);

    ASSERT_TRUE(activate_dialplan(conn(), *v1));
    active = active_dialplan(conn());
    ASSERT_TRUE(active && active->has_value());
    EXPECT_EQ((*active)->version, *v1);
    EXPECT_EQ((*active)->source, kV1);
}

TEST_F(DialplanTest, ActivatingAnUnknownVersionFailsAndChangesNothing) {
    auto v1 = store_and_activate_dialplan(conn(), "office.lua", kV1);
    ASSERT_TRUE(v1);
    auto st = activate_dialplan(conn(), 99);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, code(Errc::not_found));
    EXPECT_NE(st.error().message.find("dialplan version 99 does not exist"), std::string::npos)
        << st.error().message;
    auto active = active_dialplan(conn());
    ASSERT_TRUE(active && active->has_value());
    EXPECT_EQ((*active)->version, *v1);
}

TEST_F(DialplanTest, ListShowsSizesAndTheActiveMarker) {
    auto v1 = store_dialplan(conn(), "a.lua", kV1);
    auto v2 = store_and_activate_dialplan(conn(), "b.lua", kV2, "hangup only");
    ASSERT_TRUE(v1 && v2);
    auto all = list_dialplans(conn());
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].version, *v1);
    EXPECT_EQ((*all)[0].name, "a.lua");
    EXPECT_EQ((*all)[0].size, std::string(kV1).size());
    EXPECT_FALSE((*all)[0].active);
    EXPECT_EQ((*all)[1].version, *v2);
    EXPECT_EQ((*all)[1].comment, "hangup only");
    EXPECT_TRUE((*all)[1].active);
}

TEST_F(DialplanTest, InputIsBoundedAndChecked) {
    std::string big(kMaxDialplanSource + 1, '-');
    auto r = store_dialplan(conn(), "big.lua", big);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, code(Errc::invalid_argument));
    EXPECT_NE(r.error().message.find("too large"), std::string::npos);

    std::string at_limit(kMaxDialplanSource, '-');
    EXPECT_TRUE(store_dialplan(conn(), "limit.lua", at_limit));

    EXPECT_FALSE(store_dialplan(conn(), "", kV1));
    EXPECT_FALSE(store_dialplan(conn(), "dir/office.lua", kV1));
    EXPECT_FALSE(store_dialplan(conn(), "bad\nname", kV1));
    EXPECT_FALSE(store_dialplan(conn(), std::string(kMaxDialplanName + 1, 'a'), kV1));
    EXPECT_FALSE(store_dialplan(conn(), "nul.lua", std::string("x\0y", 3)));
    // Quotes and SQL in the text are data, never SQL.
    const std::string sneaky = "-- '); drop table dialplans; --\nfunction route(call) end\n";
    auto v = store_dialplan(conn(), "o'brien.lua", sneaky);
    ASSERT_TRUE(v) << v.error().message;
    auto got = get_dialplan(conn(), *v);
    ASSERT_TRUE(got && got->has_value());
    EXPECT_EQ((*got)->source, sneaky);
    EXPECT_EQ((*got)->name, "o'brien.lua");
}

TEST_F(DialplanTest, EnsureActiveSeedsOnlyOnce) {
    auto first = ensure_active_dialplan(conn(), "default.lua", kV1, "shipped default");
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first->name, "default.lua");
    EXPECT_TRUE(first->active);
    auto again = ensure_active_dialplan(conn(), "default.lua", kV2);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->version, first->version);
    EXPECT_EQ(again->source, kV1);
    auto all = list_dialplans(conn());
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 1u);
}

TEST_F(DialplanTest, ConcurrentFirstStartsStoreOneVersion) {
    constexpr int kThreads = 4;
    std::vector<std::int64_t> versions(kThreads, -1);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            pqxx::connection c(shared_conninfo());
            auto d = ensure_active_dialplan(c, "default.lua", kV1);
            versions[i] = d ? d->version : -1;
        });
    }
    for (auto& t : threads) t.join();
    for (auto v : versions) EXPECT_EQ(v, versions[0]);
    EXPECT_GT(versions[0], 0);
    auto all = list_dialplans(conn());
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 1u);
}

TEST_F(DialplanTest, ActivationNotifiesTheVersion) {
    auto v1 = store_dialplan(conn(), "office.lua", kV1);
    ASSERT_TRUE(v1);
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::string> payloads;
    Listener listener({shared_conninfo(), {kDialplanChannel}}, [&](const std::string& channel, const std::string& p) {
        std::lock_guard lock(m);
        if (channel == kDialplanChannel) payloads.push_back(p);
        cv.notify_all();
    });
    ASSERT_TRUE(listener.wait_listening(Duration{10000}));

    ASSERT_TRUE(activate_dialplan(conn(), *v1));
    auto v2 = store_and_activate_dialplan(conn(), "office.lua", kV2);
    ASSERT_TRUE(v2);
    // A failed activation notifies nothing.
    ASSERT_FALSE(activate_dialplan(conn(), 99));
    ASSERT_TRUE(activate_dialplan(conn(), *v1));

    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return payloads.size() >= 3; }));
    EXPECT_EQ(payloads[0], std::to_string(*v1));
    EXPECT_EQ(payloads[1], std::to_string(*v2));
    EXPECT_EQ(payloads[2], std::to_string(*v1));
}

}  // namespace
}  // namespace sb::db::test
