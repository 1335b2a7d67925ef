#include "sb/db/pool.h"
#include "sb/db/errors.h"
#include "test_cluster.h"

#include <gtest/gtest.h>
#include <pqxx/nontransaction>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>

namespace sb::db::test {
namespace {

using namespace std::chrono_literals;

// Waits (real time) for a future the pool fulfils; generous, since a slow machine is no failure.
template <class T>
T get(std::future<T>& f) {
    if (f.wait_for(60s) != std::future_status::ready)
        throw std::runtime_error("pool job never finished");
    return f.get();
}

PoolOptions options(std::size_t threads = 2, std::size_t capacity = 64) {
    PoolOptions o;
    o.conninfo = shared_conninfo();
    o.threads = threads;
    o.queue_capacity = capacity;
    return o;
}

TEST(Pool, RunsJobsOnItsThreadsWithTheirConnections) {
    Pool pool(options(2));
    constexpr int kJobs = 20;
    std::vector<std::promise<std::pair<std::thread::id, int>>> done(kJobs);
    for (int i = 0; i < kJobs; ++i) {
        ASSERT_TRUE(pool.submit([&, i](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            int v = tx.exec_params("select $1::int * 2", i)[0][0].as<int>();
            done[i].set_value({std::this_thread::get_id(), v});
        }));
    }
    std::set<std::thread::id> threads;
    for (int i = 0; i < kJobs; ++i) {
        auto f = done[i].get_future();
        auto [id, v] = get(f);
        EXPECT_EQ(v, i * 2);
        EXPECT_NE(id, std::this_thread::get_id());
        threads.insert(id);
    }
    EXPECT_LE(threads.size(), 2u);
}

TEST(Pool, RejectsWhenTheQueueIsFull) {
    Pool pool(options(1, 2));
    std::promise<void> started, gate;
    auto gate_future = gate.get_future().share();
    ASSERT_TRUE(pool.submit([&](pqxx::connection&) {
        started.set_value();
        gate_future.wait();
    }));
    started.get_future().wait();  // the only thread is busy, the queue empty
    std::atomic<int> ran{0};
    EXPECT_TRUE(pool.submit([&](pqxx::connection&) { ++ran; }));
    EXPECT_TRUE(pool.submit([&](pqxx::connection&) { ++ran; }));
    EXPECT_EQ(pool.queued(), 2u);
    EXPECT_FALSE(pool.submit([&](pqxx::connection&) { ++ran; })) << "a full queue sheds load";
    gate.set_value();
    pool.shutdown();
    EXPECT_EQ(ran.load(), 2);
    EXPECT_FALSE(pool.submit([](pqxx::connection&) {})) << "no jobs after shutdown";
}

TEST(Pool, SurvivesJobsThatThrow) {
    Pool pool(options(1));
    std::promise<Error> plain, sql;
    ASSERT_TRUE(pool.submit([](pqxx::connection&) { throw std::runtime_error("boom"); },
                            [&](const Error& e) { plain.set_value(e); }));
    ASSERT_TRUE(pool.submit(
        [](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec("select * from no_such_table");
        },
        [&](const Error& e) { sql.set_value(e); }));
    auto f1 = plain.get_future();
    auto f2 = sql.get_future();
    Error e1 = get(f1), e2 = get(f2);
    EXPECT_NE(e1.message.find("boom"), std::string::npos) << e1.message;
    EXPECT_EQ(e2.code, code(Errc::query_failed));
    EXPECT_NE(e2.message.find("no_such_table"), std::string::npos) << e2.message;

    // A job that throws without a failure callback is only logged.
    ASSERT_TRUE(pool.submit([](pqxx::connection&) { throw 42; }));
    std::promise<int> ok;
    ASSERT_TRUE(pool.submit([&](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        ok.set_value(tx.exec("select 7")[0][0].as<int>());
    }));
    auto f3 = ok.get_future();
    EXPECT_EQ(get(f3), 7) << "the thread still runs jobs";
}

TEST(Pool, ReconnectsAfterTheConnectionIsKilled) {
    Pool pool(options(1));
    std::promise<int> first_pid;
    ASSERT_TRUE(pool.submit([&](pqxx::connection& c) { first_pid.set_value(c.backendpid()); }));
    auto f1 = first_pid.get_future();
    int pid = get(f1);
    {
        pqxx::connection killer(shared_conninfo());
        pqxx::nontransaction tx(killer);
        tx.exec_params("select pg_terminate_backend($1, 10000)", pid);
    }
    // The next job on the dead connection may fail (that is reported); later ones must work.
    std::promise<void> failed_or_ran;
    ASSERT_TRUE(pool.submit(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec("select 1");
            failed_or_ran.set_value();
        },
        [&](const Error&) { failed_or_ran.set_value(); }));
    auto f2 = failed_or_ran.get_future();
    get(f2);
    std::promise<int> second_pid;
    ASSERT_TRUE(pool.submit([&](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        second_pid.set_value(tx.exec("select pg_backend_pid()")[0][0].as<int>());
    }));
    auto f3 = second_pid.get_future();
    EXPECT_NE(get(f3), pid);
}

TEST(Pool, FailsFastWithBackoffWhileTheDatabaseIsDown) {
    FakeClock clock;
    PoolOptions o;
    o.conninfo = "host=/tmp/sbdb-no-such-dir dbname=x";
    o.threads = 1;
    o.reconnect_min = Duration(1000);
    o.reconnect_max = Duration(4000);
    Pool pool(o, clock);
    auto run = [&] {
        std::promise<Error> p;
        bool ran = false;
        EXPECT_TRUE(pool.submit([&](pqxx::connection&) { ran = true; },
                                [&](const Error& e) { p.set_value(e); }));
        auto f = p.get_future();
        Error e = get(f);
        EXPECT_FALSE(ran);
        EXPECT_EQ(e.code, code(Errc::unavailable)) << e.message;
        return e.message;
    };
    EXPECT_EQ(run().find("next connect attempt"), std::string::npos) << "first job: a real attempt";
    EXPECT_NE(run().find("next connect attempt in 1000 ms"), std::string::npos)
        << "within backoff: no attempt";
    clock.advance(Duration(1000));
    EXPECT_EQ(run().find("next connect attempt"), std::string::npos)
        << "backoff over: a new attempt";
    EXPECT_NE(run().find("in 2000 ms"), std::string::npos) << "backoff doubles";
}

TEST(Pool, ShutdownFinishesQueuedJobs) {
    std::atomic<int> ran{0};
    {
        Pool pool(options(1));
        for (int i = 0; i < 10; ++i) {
            ASSERT_TRUE(pool.submit([&](pqxx::connection& c) {
                pqxx::nontransaction tx(c);
                tx.exec("select 1");
                ++ran;
            }));
        }
    }
    EXPECT_EQ(ran.load(), 10);
}

TEST(Pool, ShutdownDropsJobsPastTheDeadline) {
    FakeClock clock;
    PoolOptions o = options(1, 1'000'000);  // room enough that only shutdown makes submit fail
    o.shutdown_deadline = Duration(1000);
    Pool pool(o, clock);
    std::promise<void> started, gate;
    auto gate_future = gate.get_future().share();
    ASSERT_TRUE(pool.submit([&](pqxx::connection&) {
        started.set_value();
        gate_future.wait();
    }));
    started.get_future().wait();
    std::atomic<int> ran{0}, dropped{0};
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(
            pool.submit([&](pqxx::connection&) { ++ran; }, [&](const Error&) { ++dropped; }));
    }
    auto stopper = std::async(std::launch::async, [&] { pool.shutdown(); });
    while (pool.submit([](pqxx::connection&) {})) {  // until shutdown has begun; these run
        std::this_thread::sleep_for(1ms);
    }
    clock.advance(Duration(1000));  // the deadline passes while the first job still runs
    gate.set_value();
    stopper.get();
    EXPECT_EQ(ran.load(), 0);
    EXPECT_EQ(dropped.load(), 3);
}

}  // namespace
}  // namespace sb::db::test
