// The shipped default dialplan: it compiles, and it routes as docs/dialplan.md says.
#include "sb/dialplan/default_dialplan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sb/dialplan/engine.h"
#include "sb/dialplan/simulated_call.h"

namespace sb::dialplan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Ran {
    Step step;
    std::vector<std::string> steps;
};

Ran run(std::string to, std::deque<Outcome> outcomes) {
    Engine e;
    auto script = e.check(default_dialplan_source(), kDefaultDialplanName);
    EXPECT_TRUE(script) << (script ? "" : script.error().message);
    if (!script) return {};
    SimulatedCall::Facts facts;
    facts.callee_number = std::move(to);
    SimulatedCall call(facts, std::move(outcomes));
    Step s = e.start(1, *script, call);
    while (s.state == Step::State::waiting) s = e.resume(1, call.next_outcome());
    return {s, call.steps()};
}

TEST(DefaultDialplan, PassesCheck) {
    Engine e;
    auto script = e.check(default_dialplan_source(), kDefaultDialplanName);
    ASSERT_TRUE(script) << script.error().message;
    EXPECT_EQ((*script)->name, "default.lua");
}

TEST(DefaultDialplan, BridgesToTheDialledExtensionFor30Seconds) {
    auto r = run("1002", {{BridgeResult::answered, 200}});
    EXPECT_EQ(r.step.state, Step::State::finished) << r.step.error;
    EXPECT_THAT(r.steps, ElementsAre("bridge 1002 timeout=30 simultaneous -> answered"));
}

TEST(DefaultDialplan, BusyEndsWithTheBridgesCode) {
    auto r = run("1002", {{BridgeResult::busy, 486}});
    EXPECT_EQ(r.step.state, Step::State::finished) << r.step.error;
    ASSERT_EQ(r.steps.size(), 2u);
    EXPECT_EQ(r.steps[0], "bridge 1002 timeout=30 simultaneous -> busy");
    EXPECT_THAT(r.steps[1], HasSubstr("busy (486)"));
}

TEST(DefaultDialplan, ImpossibleNumbersGet404WithoutRinging) {
    auto r = run("not a number", {});
    EXPECT_EQ(r.step.state, Step::State::finished) << r.step.error;
    EXPECT_THAT(r.steps, ElementsAre("hangup 404 Not Found"));
    auto empty = run("", {});
    EXPECT_THAT(empty.steps, ElementsAre("hangup 404 Not Found"));
}

}  // namespace
}  // namespace sb::dialplan
