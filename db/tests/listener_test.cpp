#include "sb/db/listener.h"
#include "sb/db/extensions.h"
#include "test_cluster.h"

#include <gtest/gtest.h>
#include <pqxx/nontransaction>

#include <condition_variable>
#include <deque>
#include <mutex>

namespace sb::db::test {
namespace {

using namespace std::chrono_literals;

// Collects notifications from the listener thread for the test thread to wait on.
class Inbox {
  public:
    void push(const std::string& channel, const std::string& payload) {
        {
            std::lock_guard lock(m_);
            items_.emplace_back(channel, payload);
        }
        cv_.notify_all();
    }
    void reconnected() {
        {
            std::lock_guard lock(m_);
            ++reconnects_;
        }
        cv_.notify_all();
    }
    // Waits (real time, generous) for the next notification.
    std::optional<std::pair<std::string, std::string>> next() {
        std::unique_lock lock(m_);
        if (!cv_.wait_for(lock, 30s, [&] { return !items_.empty(); })) return std::nullopt;
        auto item = items_.front();
        items_.pop_front();
        return item;
    }
    bool wait_reconnects(int n) {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, 30s, [&] { return reconnects_ >= n; });
    }
    int reconnects() {
        std::lock_guard lock(m_);
        return reconnects_;
    }

  private:
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<std::pair<std::string, std::string>> items_;
    int reconnects_ = 0;
};

using Note = std::pair<std::string, std::string>;

TEST_F(DbTest, ListenerReceivesExtensionChanges) {
    Inbox inbox;
    Listener listener({shared_conninfo(), {kExtensionsChannel, "sb_other"}},
                      [&](const std::string& c, const std::string& p) { inbox.push(c, p); });
    ASSERT_TRUE(listener.wait_listening(Duration(30000)));

    ASSERT_TRUE(add_extension(conn(), "2001", "s3cret-pass", "", "pbx.example"));
    EXPECT_EQ(inbox.next(), (Note{kExtensionsChannel, "2001"}));
    ASSERT_TRUE(
        update_extension(conn(), "2001", std::nullopt, "Desk", std::nullopt, "pbx.example"));
    EXPECT_EQ(inbox.next(), (Note{kExtensionsChannel, "2001"}));
    // A tone plan change alone reloads the extension too.
    ASSERT_TRUE(update_extension(conn(), "2001", std::nullopt, std::nullopt, std::nullopt,
                                 "pbx.example", std::optional<std::string_view>("GB")));
    EXPECT_EQ(inbox.next(), (Note{kExtensionsChannel, "2001"}));
    // So does a media mode change alone (migration 005's column, under 001's row trigger).
    ASSERT_TRUE(update_extension(conn(), "2001", std::nullopt, std::nullopt, std::nullopt,
                                 "pbx.example", std::nullopt,
                                 std::optional<std::string_view>("direct")));
    EXPECT_EQ(inbox.next(), (Note{kExtensionsChannel, "2001"}));
    ASSERT_TRUE(update_extension(conn(), "2001", std::nullopt, std::nullopt, std::nullopt,
                                 "pbx.example", std::nullopt, std::optional<std::string_view>()));
    EXPECT_EQ(inbox.next(), (Note{kExtensionsChannel, "2001"}));
    ASSERT_TRUE(delete_extension(conn(), "2001"));
    EXPECT_EQ(inbox.next(), (Note{kExtensionsChannel, "2001"}));
    {
        pqxx::nontransaction tx(conn());
        tx.exec("truncate extensions");
    }
    EXPECT_EQ(inbox.next(), (Note{kExtensionsChannel, ""})) << "empty payload: reload everything";
    {
        pqxx::nontransaction tx(conn());
        tx.exec("select pg_notify('sb_other', 'hello')");
    }
    EXPECT_EQ(inbox.next(), (Note{"sb_other", "hello"}));
}

TEST_F(DbTest, ListenerHearsABatchOnceAtItsCommitOnly) {
    Inbox inbox;
    Listener listener({shared_conninfo(), {kExtensionsChannel}},
                      [&](const std::string& c, const std::string& p) { inbox.push(c, p); });
    ASSERT_TRUE(listener.wait_listening(Duration(30000)));
    ASSERT_TRUE(add_extension(conn(), "2003", "s3cret-pass", "", "pbx.example"));
    EXPECT_EQ(inbox.next(), (Note{kExtensionsChannel, "2003"}));

    // Refused (2003 exists): rolled back, so nothing is announced.
    std::vector<NewExtension> batch;
    for (const char* n : {"2001", "2002", "2003"})
        batch.push_back({n, "s3cret-pass", "", std::nullopt, std::nullopt});
    ASSERT_FALSE(add_extensions(conn(), batch, "pbx.example"));
    // Committed: one "reload all" for the batch, not one per row (migration 004), which a
    // large import would otherwise pour into the PBX's bounded job queue at once.
    batch.pop_back();
    ASSERT_TRUE(add_extensions(conn(), batch, "pbx.example"));
    EXPECT_EQ(inbox.next(), (Note{kExtensionsChannel, ""}))
        << "nothing from the refused batch, and no per-row notes";
    // The batch's setting ended with its transaction: single changes notify per number again.
    ASSERT_TRUE(delete_extension(conn(), "2001"));
    EXPECT_EQ(inbox.next(), (Note{kExtensionsChannel, "2001"}));
    // An empty batch changes nothing and says nothing.
    ASSERT_TRUE(add_extensions(conn(), {}, "pbx.example"));
    ASSERT_TRUE(delete_extension(conn(), "2002"));
    EXPECT_EQ(inbox.next(), (Note{kExtensionsChannel, "2002"}));
}

TEST_F(DbTest, ListenerReconnectsAndAsksForAReload) {
    Inbox inbox;
    Listener listener(
        {shared_conninfo() + " application_name=sb_listener_test",
         {kExtensionsChannel},
         Duration(50)},
        [&](const std::string& c, const std::string& p) { inbox.push(c, p); },
        [&] { inbox.reconnected(); });
    ASSERT_TRUE(listener.wait_listening(Duration(30000)));
    ASSERT_TRUE(inbox.wait_reconnects(1)) << "called for the first LISTEN too";

    {
        pqxx::nontransaction tx(conn());
        auto r = tx.exec(
            "select pg_terminate_backend(pid) from pg_stat_activity "
            "where application_name = 'sb_listener_test'");
        ASSERT_EQ(r.size(), 1u);
    }
    ASSERT_TRUE(inbox.wait_reconnects(2)) << "on_reconnect after the lost connection";

    ASSERT_TRUE(add_extension(conn(), "2002", "s3cret-pass", "", "pbx.example"));
    EXPECT_EQ(inbox.next(), (Note{kExtensionsChannel, "2002"}));
}

TEST(Listener, StopsWhileTheDatabaseIsUnreachable) {
    int notes = 0;
    Listener listener(
        {"host=/tmp/sbdb-no-such-dir dbname=x", {"c"}, Duration(60000), Duration(60000)},
        [&](const std::string&, const std::string&) { ++notes; });
    EXPECT_FALSE(listener.wait_listening(Duration(200)));
    listener.stop();  // must not wait out the 60 s backoff
    EXPECT_FALSE(listener.listening());
    EXPECT_EQ(notes, 0);
}

}  // namespace
}  // namespace sb::db::test
