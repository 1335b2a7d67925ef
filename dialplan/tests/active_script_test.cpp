// ActiveScript: the holder worker shards read a new call's script from while the loader swaps it.
#include "sb/dialplan/active_script.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace sb::dialplan {
namespace {

std::shared_ptr<const Script> make(std::string name, std::int64_t version = 0) {
    return std::make_shared<const Script>(Script{std::move(name), "function route(call) end", version});
}

TEST(ActiveScript, EmptyUntilSet) {
    ActiveScript a;
    EXPECT_EQ(a.get(), nullptr);
    EXPECT_EQ(a.version(), 0);
}

TEST(ActiveScript, SetReplacesAndCarriesTheVersion) {
    ActiveScript a;
    auto v3 = make("office.lua", 3);
    a.set(v3, 3);
    EXPECT_EQ(a.get(), v3);  // the same object when its version already matches: no copy
    EXPECT_EQ(a.version(), 3);

    // A freshly checked script (version 0) gets the stored version it was loaded as.
    a.set(make("office.lua"), 4);
    auto s = a.get();
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->version, 4);
    EXPECT_EQ(s->name, "office.lua");
    EXPECT_EQ(a.version(), 4);
}

TEST(ActiveScript, ACallKeepsTheScriptItStartedWith) {
    ActiveScript a;
    a.set(make("old.lua"), 1);
    auto in_progress = a.get();
    a.set(make("new.lua"), 2);
    EXPECT_EQ(in_progress->name, "old.lua");
    EXPECT_EQ(in_progress->version, 1);
    EXPECT_EQ(a.get()->name, "new.lua");
}

// Readers never see a script whose version disagrees with what was set with it. Run under TSan
// to check the locking; here it checks consistency.
TEST(ActiveScript, ConcurrentReadersAndWriter) {
    ActiveScript a;
    a.set(make("v1"), 1);
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 3; ++i) {
        readers.emplace_back([&] {
            std::int64_t last = 0;
            while (!stop.load()) {
                auto s = a.get();
                if (!s || s->name != "v" + std::to_string(s->version) || s->version < last) ++bad;
                last = s ? s->version : last;
            }
        });
    }
    for (int v = 2; v <= 2000; ++v) a.set(make("v" + std::to_string(v)), v);
    stop = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(a.version(), 2000);
}

}  // namespace
}  // namespace sb::dialplan
