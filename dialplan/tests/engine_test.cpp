// The dialplan engine against SimulatedCall: routing, waits and their outcomes, errors with lines,
// and the sandbox's limits. No test sleeps: waits are resumed by the test itself.
#include "sb/dialplan/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sb/dialplan/simulated_call.h"

namespace sb::dialplan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::shared_ptr<const Script> must_check(const Engine& e, std::string_view src,
                                         std::string_view name = "test.lua") {
    auto s = e.check(src, name);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
    return s ? *s : nullptr;
}

// Runs a call to its end, answering every wait from the SimulatedCall's queue; a call that waits
// in a conference room stays waiting (no outcome comes until the caller hangs up).
Step run_call(Engine& e, std::uint64_t id, std::shared_ptr<const Script> script,
              SimulatedCall& call) {
    Step step = e.start(id, std::move(script), call);
    while (step.state == Step::State::waiting && !call.in_conference())
        step = e.resume(id, call.next_outcome());
    return step;
}

SimulatedCall::Facts to(std::string number) {
    SimulatedCall::Facts f;
    f.callee_number = std::move(number);
    return f;
}

constexpr const char* kRouting = R"(
function route(call)
  if call.to == "2000" then
    call:bridge("1002")
  elseif call.to:match("^1%d%d%d$") then
    call:bridge{call.to, timeout = 20}
  else
    call:hangup(404, "No such number")
  end
end
)";

TEST(DialplanEngine, PlaybackWaitsThenTheScriptGoesOn) {
    Engine e;
    auto script = must_check(e, R"(
function route(call)
  if call:playback("welcome") then
    call:bridge(call.to)
  end
end
)");
    SimulatedCall a(to("1002"), {{BridgeResult::answered, 200}});
    EXPECT_EQ(run_call(e, 1, script, a).state, Step::State::finished);
    EXPECT_THAT(a.steps(), ElementsAre("playback welcome -> played",
                                       "bridge 1002 timeout=30 simultaneous -> answered"));
}

TEST(DialplanEngine, CollectDigitsReturnsTheKeys) {
    Engine e;
    auto script = must_check(e, R"(
function route(call)
  call:answer()
  local first = call:collect_digits()
  local pin = call:collect_digits{max = 4, timeout = 3, first_timeout = 10, terminator = ""}
  local choice = call:play_and_collect("menu", {max = 2, terminator = "*"})
  local nothing = call:collect_digits{max = 3}
  call:log(first .. "/" .. pin .. "/" .. choice .. "/[" .. nothing .. "]")
  if choice == "42" then call:bridge("1002") end
end
)");
    // As the PBX takes them: the first collection's max is 1, the second has no terminator,
    // the third stops at its terminator; the fourth gets no keys (a timeout).
    SimulatedCall call(to("2000"), {{BridgeResult::answered, 200}}, {"75", "12#3456", "42*9"});
    EXPECT_EQ(run_call(e, 1, script, call).state, Step::State::finished);
    EXPECT_THAT(
        call.steps(),
        ElementsAre("answer", "collect_digits max=1 timeout=5 terminator=# -> \"7\"",
                    "collect_digits max=4 timeout=3 first_timeout=10 no terminator -> "
                    "\"12#3\"",
                    "play_and_collect menu max=2 timeout=5 terminator=* -> \"42\"",
                    "collect_digits max=3 timeout=5 terminator=# -> \"\"", "log info 7/12#3/42/[]",
                    "bridge 1002 timeout=30 simultaneous -> answered"));
}

TEST(DialplanEngine, CollectDigitsThatCannotCollectReturnsNilAndWhy) {
    Engine e;
    auto script = must_check(e, R"(
function route(call)
  local keys, why = call:play_and_collect("menu", {max = 1})
  if keys == nil then
    call:log("cannot: " .. why)
    call:hangup(480)
  end
end
)");
    SimulatedCall call;
    EXPECT_EQ(e.start(1, script, call).state, Step::State::waiting);
    Step step = e.resume(1, Outcome{BridgeResult::failed, 500, {}, "media is not anchored"});
    EXPECT_EQ(step.state, Step::State::finished);
    EXPECT_THAT(call.steps(), ElementsAre("play_and_collect menu max=1 timeout=5 terminator=#",
                                          "log info cannot: media is not anchored", "hangup 480"));
}

TEST(DialplanEngine, AnswerSaysWhetherTheCallWasAnswered) {
    Engine e;
    auto script = must_check(e, R"(
function route(call)
  if call:answer() then
    call:playback("welcome")
  end
end
)");
    SimulatedCall call;
    EXPECT_EQ(run_call(e, 1, script, call).state, Step::State::finished);
    EXPECT_THAT(call.steps(), ElementsAre("answer", "playback welcome -> played"));
}

TEST(DialplanEngine, RecordStartsAndStopsAndChecksItsArgument) {
    Engine e;
    auto script = must_check(e, R"(
function route(call)
  if call:record() then
    call:bridge("1002")
    call:record(false)
  end
end
)");
    SimulatedCall call(to("1002"), {{BridgeResult::answered, 200}});
    EXPECT_EQ(run_call(e, 1, script, call).state, Step::State::finished);
    EXPECT_THAT(
        call.steps(),
        ElementsAre("record", "bridge 1002 timeout=30 simultaneous -> answered", "record stop"));

    auto bad = must_check(e, R"(
function route(call)
  call:record("yes")
end
)");
    SimulatedCall other;
    Step step = run_call(e, 2, bad, other);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_THAT(step.error, HasSubstr("boolean expected"));
}

TEST(DialplanEngine, ConferenceWaitsInTheRoomUntilTheCallEnds) {
    Engine e;
    auto script = must_check(e, R"(
function route(call)
  call:answer()
  call:playback("welcome")
  call:conference("sales-1")
  call:log("never: the caller hangs up in the room")
end
)");
    SimulatedCall call;
    Step step = run_call(e, 1, script, call);
    EXPECT_EQ(step.state, Step::State::waiting);
    EXPECT_TRUE(call.in_conference());
    EXPECT_THAT(call.steps(),
                ElementsAre("answer", "playback welcome -> played", "conference sales-1"));
    e.cancel(1);  // what the B2BUA does when the caller's BYE ends the call
    EXPECT_EQ(e.active_calls(), 0u);
}

TEST(DialplanEngine, ConferenceOptions) {
    Engine e;
    struct Case {
        const char* call;
        const char* step;
    } cases[] = {
        {"call:conference('sales')", "conference sales"},
        {"call:conference(100, {})", "conference 100"},
        {"call:conference('board', {muted = true, mute_key = '#', chimes = false})",
         "conference board muted mute_key=# no chimes"},
        {"call:conference('board', {mute_key = 'a', muted = false, chimes = true})",
         "conference board mute_key=A"},
        {"call:conference('board', {mute_key = false})", "conference board no mute_key"},
        {"call:conference('board', {alone_prompt = false, music_when_alone = true})",
         "conference board no alone_prompt music_when_alone"},
        {"call:conference('board', {alone_prompt = 'only-you'})",
         "conference board alone_prompt=only-you"},
        {"call:conference('Team_2.west')", "conference Team_2.west"},
    };
    std::uint64_t id = 0;
    for (const auto& c : cases) {
        auto script = must_check(e, std::string("function route(call) ") + c.call + " end");
        SimulatedCall call;
        EXPECT_EQ(run_call(e, ++id, script, call).state, Step::State::waiting) << c.call;
        EXPECT_THAT(call.steps(), ElementsAre(c.step)) << c.call;
    }
}

TEST(DialplanEngine, ConferenceThatCannotJoinResumesWithFalse) {
    Engine e;
    auto script = must_check(e, R"(
function route(call)
  local joined = call:conference("sales")
  call:log("joined: " .. tostring(joined))
  call:hangup(480)
end
)");
    SimulatedCall call;
    ASSERT_EQ(e.start(1, script, call).state, Step::State::waiting);
    // The B2BUA's outcome when the room cannot be joined (media not anchored, room full).
    EXPECT_EQ(e.resume(1, Outcome{BridgeResult::failed, 500}).state, Step::State::finished);
    EXPECT_THAT(call.steps(),
                ElementsAre("conference sales", "log info joined: false", "hangup 480"));
}

TEST(DialplanEngine, RoutesByNumber) {
    Engine e;
    auto script = must_check(e, kRouting);
    SimulatedCall a(to("2000"), {{BridgeResult::answered, 200}});
    EXPECT_EQ(run_call(e, 1, script, a).state, Step::State::finished);
    EXPECT_THAT(a.steps(), ElementsAre("bridge 1002 timeout=30 simultaneous -> answered"));

    SimulatedCall b(to("1005"), {{BridgeResult::answered, 200}});
    EXPECT_EQ(run_call(e, 2, script, b).state, Step::State::finished);
    EXPECT_THAT(b.steps(), ElementsAre("bridge 1005 timeout=20 simultaneous -> answered"));

    SimulatedCall c(to("999"));
    EXPECT_EQ(run_call(e, 3, script, c).state, Step::State::finished);
    EXPECT_THAT(c.steps(), ElementsAre("hangup 404 No such number"));
    EXPECT_EQ(e.active_calls(), 0u);
}

TEST(DialplanEngine, ReadsTheCallsFacts) {
    Engine e;
    auto script = must_check(e, R"(
function route(call)
  call:log(call.from .. " " .. call.from_name .. " -> " .. call.to .. " " .. call.uri)
  call:log("ext " .. call.extension.number .. " " .. call.extension.name)
  call:log("ua " .. (call:header("user-agent") or "none") .. " x " .. tostring(call:header("X-None")))
  call:set_caller_id("+3212345678", "Reception")
  call:set_header("X-Route", "sales")
  call:answer()
end
)");
    SimulatedCall::Facts f;
    f.caller_number = "1001";
    f.caller_name = "Alice";
    f.headers["User-Agent"] = "Yealink";
    SimulatedCall call(f);
    EXPECT_EQ(run_call(e, 1, script, call).state, Step::State::finished);
    EXPECT_THAT(call.steps(), ElementsAre("log info 1001 Alice -> 2000 sip:2000@switchboard",
                                          "log info ext 1001 Alice", "log info ua Yealink x nil",
                                          "set_caller_id +3212345678 \"Reception\"",
                                          "set_header X-Route: sales", "answer"));
}

TEST(DialplanEngine, TrunkCallsHaveNoExtension) {
    Engine e;
    auto script = must_check(
        e, "function route(call) if call.extension == nil then call:hangup(403) end end");
    SimulatedCall::Facts f;
    f.from_trunk = true;
    SimulatedCall call(f);
    EXPECT_EQ(run_call(e, 1, script, call).state, Step::State::finished);
    EXPECT_THAT(call.steps(), ElementsAre("hangup 403"));
}

constexpr const char* kFallbacks = R"(
function route(call)
  local r = call:bridge{"1001", "1002", timeout = 20}
  call:log("first: " .. r.result .. " " .. r.code)
  if r.result == "answered" then return end
  r = call:bridge{"1003", "1004", timeout = 15, sequential = true}
  if r.result == "busy" or r.result == "noanswer" then
    call:voicemail("1001")
  end
  call:hangup(480)
end
)";

TEST(DialplanEngine, BridgeOutcomesAndFallbacks) {
    Engine e;
    auto script = must_check(e, kFallbacks, "office.lua");
    SimulatedCall call({}, {{BridgeResult::busy, 486}, {BridgeResult::noanswer, 408}});
    Step step = run_call(e, 7, script, call);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_EQ(step.error,
              "office.lua:8: voicemail() is not available yet (voicemail: a later issue)");
    EXPECT_THAT(call.steps(), ElementsAre("bridge 1001,1002 timeout=20 simultaneous -> busy",
                                          "log info first: busy 486",
                                          "bridge 1003,1004 timeout=15 sequential -> noanswer"));
    EXPECT_EQ(e.active_calls(), 0u);

    SimulatedCall answered({}, {{BridgeResult::answered, 200}});
    EXPECT_EQ(run_call(e, 8, script, answered).state, Step::State::finished);
    EXPECT_THAT(answered.steps(),
                ElementsAre("bridge 1001,1002 timeout=20 simultaneous -> answered",
                            "log info first: answered 200"));
}

// Where the media goes, per bridge: the request carries it (automatic unless the script says),
// and simulate shows it when the script chose.
TEST(DialplanEngine, BridgeMediaOption) {
    Engine e;
    auto script = must_check(e, R"(
function route(call)
  call:bridge("1002", {media = "direct"})
  call:bridge{"1003", "1004", timeout = 10, media = "anchor"}
  call:bridge("1005", {timeout = 20, sequential = true})
  call:bridge("1006", 15)
  call:bridge{"1007", media = "direct", sequential = true}
end
)");
    SimulatedCall call({}, {{BridgeResult::busy, 486},
                            {BridgeResult::noanswer, 480},
                            {BridgeResult::busy, 486},
                            {BridgeResult::busy, 486},
                            {BridgeResult::answered, 200}});
    EXPECT_EQ(run_call(e, 1, script, call).state, Step::State::finished);
    EXPECT_THAT(call.steps(),
                ElementsAre("bridge 1002 timeout=30 simultaneous media=direct -> busy",
                            "bridge 1003,1004 timeout=10 simultaneous media=anchor -> noanswer",
                            "bridge 1005 timeout=20 sequential -> busy",
                            "bridge 1006 timeout=15 simultaneous -> busy",
                            "bridge 1007 timeout=30 sequential media=direct -> answered"));
}

TEST(DialplanEngine, ResumingWithAnOutcomeContinuesTheScript) {
    Engine e;
    auto script = must_check(e, kFallbacks);
    SimulatedCall call;
    Step step = e.start(42, script, call);
    ASSERT_EQ(step.state, Step::State::waiting);
    EXPECT_TRUE(call.waiting());
    EXPECT_EQ(e.active_calls(), 1u);
    EXPECT_GT(e.memory_used(42), 0u);
    step = e.resume(42, Outcome{BridgeResult::unavailable, 480});
    ASSERT_EQ(step.state, Step::State::waiting);
    EXPECT_THAT(call.steps().back(), "bridge 1003,1004 timeout=15 sequential");
    step = e.resume(42, Outcome{BridgeResult::failed, 503});
    EXPECT_EQ(step.state, Step::State::finished);
    EXPECT_THAT(call.steps(), ElementsAre("bridge 1001,1002 timeout=20 simultaneous",
                                          "log info first: unavailable 480",
                                          "bridge 1003,1004 timeout=15 sequential", "hangup 480"));
    // Unknown or finished calls are reported, not crashed on.
    EXPECT_EQ(e.resume(42, Outcome{}).state, Step::State::failed);
}

TEST(DialplanEngine, CancelDropsAWaitingCall) {
    Engine e;
    auto script = must_check(e, kFallbacks);
    SimulatedCall call;
    ASSERT_EQ(e.start(1, script, call).state, Step::State::waiting);
    e.cancel(1);
    EXPECT_EQ(e.active_calls(), 0u);
}

TEST(DialplanEngine, CheckReportsSyntaxErrorsWithTheLine) {
    Engine e;
    auto r = e.check("function route(call)\n  if call.to == '1' then\n    call:bridge('1')\nend\n",
                     "bad.lua");
    ASSERT_FALSE(r.has_value());
    EXPECT_THAT(r.error().message, HasSubstr("bad.lua:5:"));
    EXPECT_THAT(r.error().message, HasSubstr("'end' expected"));

    auto missing = e.check("local x = 1\n", "empty.lua");
    ASSERT_FALSE(missing.has_value());
    EXPECT_THAT(missing.error().message, HasSubstr("must define function route(call)"));
}

TEST(DialplanEngine, CheckRejectsUnknownNamesAtTopLevel) {
    Engine e;
    auto r = e.check("local t = {}\nsetup_routes(t)\nfunction route(call) end\n", "top.lua");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message,
              "top.lua:2: unknown name 'setup_routes' (not a dialplan function or a variable set "
              "before)");
}

TEST(DialplanEngine, UnknownFunctionAtRunTimeFailsWithTheLine) {
    Engine e;
    auto script =
        must_check(e, "function route(call)\n  call:log('hi')\n  brige('1001')\nend\n", "typo.lua");
    SimulatedCall call;
    Step step = run_call(e, 1, script, call);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_EQ(
        step.error,
        "typo.lua:3: unknown name 'brige' (not a dialplan function or a variable set before)");

    auto method = must_check(e, "function route(call)\n\n  call:brige('1001')\nend\n", "typo.lua");
    SimulatedCall call2;
    step = run_call(e, 2, method, call2);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_EQ(step.error, "typo.lua:3: call.brige is not part of the dialplan API");
}

TEST(DialplanEngine, ArgumentMistakesAreClearErrors) {
    Engine e;
    struct Case {
        const char* body;
        const char* error;
    } cases[] = {
        {"call.hangup(486)",
         "x.lua:1: call:hangup(...) needs a colon: write call:hangup(...), not call.hangup(...)"},
        {"call:hangup(200)",
         "x.lua:1: bad argument #1 to 'hangup' (hangup code must be a SIP failure code (400-699))"},
        {"call:bridge{'1001', timout = 5}",
         "x.lua:1: bridge: unknown option 'timout' (timeout, sequential, media)"},
        {"call:bridge('1001', {timout = 5})",
         "x.lua:1: bridge: unknown option 'timout' (timeout, sequential, media)"},
        {"call:bridge{'1001', media = 'relay'}",
         "x.lua:1: bridge: media must be \"direct\" or \"anchor\""},
        {"call:bridge('1001', {media = true})",
         "x.lua:1: bridge: media must be \"direct\" or \"anchor\""},
        {"call:bridge('1001', {media = 'auto'})",
         "x.lua:1: bridge: media must be \"direct\" or \"anchor\""},
        {"call:bridge('1001', {'1002'})",
         "x.lua:1: bridge: options are named (timeout, sequential, media)"},
        {"call:bridge('1001', {timeout = 0})",
         "x.lua:1: bridge: timeout must be 1 to 3600 seconds"},
        {"call:bridge('1001', 'soon')", "x.lua:1: bridge: timeout must be whole seconds"},
        {"call:bridge{}", "x.lua:1: bridge: no destination given"},
        {"call:set_header('Via', 'x')",
         "x.lua:1: set_header: Via is set by the PBX, not the dialplan"},
        {"call:set_header('X-A', 'a\\r\\nVia: x')",
         "x.lua:1: set_header: the value must be one line of at most 1024 characters"},
        {"call:playback('')", "x.lua:1: playback: the prompt name is empty or too long"},
        {"call:playback()",
         "x.lua:1: bad argument #1 to 'playback' (string expected, got no value)"},
        {"call.collect_digits{max = 4}",
         "x.lua:1: call:collect_digits(...) needs a colon: write call:collect_digits(...), not "
         "call.collect_digits(...)"},
        {"call:collect_digits{maxx = 4}",
         "x.lua:1: collect_digits: unknown option 'maxx' (max, timeout, first_timeout, "
         "terminator)"},
        {"call:collect_digits{4}",
         "x.lua:1: collect_digits: options are named (max, timeout, first_timeout, terminator)"},
        {"call:collect_digits(4)",
         "x.lua:1: collect_digits: the options must be a table (got number)"},
        {"call:collect_digits{max = 0}",
         "x.lua:1: collect_digits: max must be a whole number from 1 to 64"},
        {"call:collect_digits{max = 65}",
         "x.lua:1: collect_digits: max must be a whole number from 1 to 64"},
        {"call:collect_digits{max = '4'}",
         "x.lua:1: collect_digits: max must be a whole number from 1 to 64"},
        {"call:collect_digits{timeout = 0}",
         "x.lua:1: collect_digits: timeout must be whole seconds from 1 to 60"},
        {"call:collect_digits{timeout = 2.5}",
         "x.lua:1: collect_digits: timeout must be whole seconds from 1 to 60"},
        {"call:collect_digits{first_timeout = 61}",
         "x.lua:1: collect_digits: first_timeout must be whole seconds from 1 to 60"},
        {"call:collect_digits{terminator = '##'}",
         "x.lua:1: collect_digits: terminator must be one key of 0-9, *, #, A-D, or \"\" for "
         "none"},
        {"call:collect_digits{terminator = 'x'}",
         "x.lua:1: collect_digits: terminator must be one key of 0-9, *, #, A-D, or \"\" for "
         "none"},
        {"call:collect_digits{terminator = false}",
         "x.lua:1: collect_digits: terminator must be one key of 0-9, *, #, A-D, or \"\" for "
         "none"},
        {"call:play_and_collect()",
         "x.lua:1: bad argument #1 to 'play_and_collect' (string expected, got no value)"},
        {"call:play_and_collect('')",
         "x.lua:1: play_and_collect: the prompt name is empty or too long"},
        {"call:play_and_collect{max = 2}",
         "x.lua:1: bad argument #1 to 'play_and_collect' (string expected, got table)"},
        {"call:play_and_collect('menu', {max = 2, timeuot = 3})",
         "x.lua:1: play_and_collect: unknown option 'timeuot' (max, timeout, first_timeout, "
         "terminator)"},
        {"call:play_and_collect('menu', 2)",
         "x.lua:1: play_and_collect: the options must be a table (got number)"},
        {"call.conference('100')",
         "x.lua:1: call:conference(...) needs a colon: write call:conference(...), not "
         "call.conference(...)"},
        {"call:conference()",
         "x.lua:1: conference: the room must be a name or a number (got no value)"},
        {"call:conference({})",
         "x.lua:1: conference: the room must be a name or a number (got table)"},
        {"call:conference(1.5)",
         "x.lua:1: conference: the room must be a name or a number (got number)"},
        {"call:conference('')",
         "x.lua:1: conference: a room name is 1 to 64 letters, digits, '_', '.' or '-'"},
        {"call:conference('sales room')",
         "x.lua:1: conference: a room name is 1 to 64 letters, digits, '_', '.' or '-'"},
        {"call:conference('../etc')",
         "x.lua:1: conference: a room name is 1 to 64 letters, digits, '_', '.' or '-'"},
        {"call:conference(string.rep('a', 65))",
         "x.lua:1: conference: a room name is 1 to 64 letters, digits, '_', '.' or '-'"},
        {"call:conference('sales', true)",
         "x.lua:1: conference: the options must be a table (got boolean)"},
        {"call:conference('sales', {mute = true})",
         "x.lua:1: conference: unknown option 'mute' (muted, mute_key, chimes, alone_prompt, "
         "music_when_alone)"},
        {"call:conference('sales', {'muted'})",
         "x.lua:1: conference: options are named (muted, mute_key, chimes, alone_prompt, "
         "music_when_alone)"},
        {"call:conference('sales', {alone_prompt = true})",
         "x.lua:1: conference: alone_prompt must be a prompt name or false"},
        {"call:conference('sales', {alone_prompt = ''})",
         "x.lua:1: conference: alone_prompt must be a prompt name or false"},
        {"call:conference('sales', {music_when_alone = 'yes'})",
         "x.lua:1: conference: music_when_alone must be true or false"},
        {"call:conference('sales', {muted = 'yes'})",
         "x.lua:1: conference: muted must be true or false"},
        {"call:conference('sales', {chimes = 1})",
         "x.lua:1: conference: chimes must be true or false"},
        {"call:conference('sales', {mute_key = '**'})",
         "x.lua:1: conference: mute_key must be one key of 0-9, *, #, A-D, or false"},
        {"call:conference('sales', {mute_key = 5})",
         "x.lua:1: conference: mute_key must be one key of 0-9, *, #, A-D, or false"},
        {"call:conference('sales', {mute_key = true})",
         "x.lua:1: conference: mute_key must be one key of 0-9, *, #, A-D, or false"},
        {"call:trunk('provider', call.to)",
         "x.lua:1: trunk() is not available yet (trunks: a later issue)"},
        {"error('no route for ' .. call.to)", "x.lua:1: no route for 2000"},
        {"error({})", "error object is a table value"},
    };
    std::uint64_t id = 0;
    for (const auto& c : cases) {
        auto script =
            must_check(e, std::string("function route(call) ") + c.body + " end", "x.lua");
        SimulatedCall call;
        Step step = run_call(e, ++id, script, call);
        EXPECT_EQ(step.state, Step::State::failed) << c.body;
        EXPECT_EQ(step.error, c.error) << c.body;
    }
}

TEST(DialplanEngine, InfiniteLoopIsStoppedByTheBudget) {
    Engine e(Limits{100'000, 1'000'000, 1 << 20});
    auto script = must_check(e, "function route(call)\n  while true do end\nend\n", "loop.lua");
    SimulatedCall call;
    Step step = run_call(e, 1, script, call);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_EQ(step.error, "loop.lua:2: instruction budget exceeded (a loop that never waits?)");

    // pcall cannot catch the budget.
    auto sneaky = must_check(
        e,
        "function route(call)\n  while true do pcall(function() while true do end end) end\nend\n",
        "loop.lua");
    SimulatedCall call2;
    step = run_call(e, 2, sneaky, call2);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_THAT(step.error, HasSubstr("instruction budget exceeded"));

    // A loop at the top level stops check() too.
    auto top = e.check("while true do end\nfunction route(call) end\n", "top.lua");
    ASSERT_FALSE(top.has_value());
    EXPECT_EQ(top.error().message,
              "top.lua:1: instruction budget exceeded (a loop that never waits?)");
}

TEST(DialplanEngine, TotalBudgetSpansWaits) {
    // Each slice stays under its budget, the call as a whole does not.
    Engine e(Limits{50'000, 120'000, 1 << 20});
    auto script = must_check(e, R"(
function route(call)
  while true do
    for i = 1, 5000 do end
    call:bridge("1001")
  end
end
)",
                             "many.lua");
    SimulatedCall call({}, std::deque<Outcome>(100, Outcome{BridgeResult::busy, 486}));
    Step step = run_call(e, 1, script, call);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_THAT(step.error, HasSubstr("instruction budget for the call exceeded"));
    EXPECT_GT(call.steps().size(), 2u);
}

TEST(DialplanEngine, MemoryBombsAreStoppedByTheCap) {
    Engine e(Limits{10'000'000, 100'000'000, 256 * 1024});
    const char* bombs[] = {
        "function route(call)\n  local s = string.rep('x', 100000000)\nend\n",
        "function route(call)\n  local t = {}\n  for i = 1, 1e7 do t[i] = i end\nend\n",
        "function route(call)\n  local t = {}\n  while true do t[#t + 1] = string.rep('x', 10000) "
        ".. #t end\nend\n",
        "function route(call)\n  local t = {}\n  while true do pcall(function() t[#t + 1] = {} "
        "end) end\nend\n",
    };
    std::uint64_t id = 0;
    for (const char* bomb : bombs) {
        auto script = must_check(e, bomb, "bomb.lua");
        SimulatedCall call;
        Step step = run_call(e, ++id, script, call);
        EXPECT_EQ(step.state, Step::State::failed) << bomb;
        EXPECT_THAT(step.error, HasSubstr("memory limit of 262144 bytes exceeded")) << bomb;
        EXPECT_THAT(step.error, HasSubstr("bomb.lua:")) << bomb;
    }
    EXPECT_EQ(e.active_calls(), 0u);

    // Strings stay short, so that comparing two of them is cheap whatever the script does.
    const char* long_strings[] = {
        "function route(call)\n  local s = string.rep('x', 20000)\nend\n",
        "function route(call)\n  local s = 'x'\n  while true do s = s .. s end\nend\n",
    };
    for (const char* bomb : long_strings) {
        auto script = must_check(e, bomb, "bomb.lua");
        SimulatedCall call;
        Step step = run_call(e, ++id, script, call);
        EXPECT_EQ(step.state, Step::State::failed) << bomb;
        EXPECT_THAT(step.error, HasSubstr("string longer than 16384 bytes")) << bomb;
        EXPECT_THAT(step.error, HasSubstr("bomb.lua:")) << bomb;
    }
}

TEST(DialplanEngine, DangerousLibrariesAreAbsent) {
    Engine e;
    auto script = must_check(e, R"(
function route(call)
  for _, name in ipairs{"io", "os", "debug", "package", "load", "loadfile", "dofile", "require", "coroutine"} do
    call:log(name .. "=" .. tostring(rawget(_G, name)))
  end
  call:log("dump=" .. tostring(string.dump))
  call:log("gc=" .. type(collectgarbage("count")))
  call:log("math=" .. math.max(1, 2) .. " utf8=" .. utf8.char(72) .. " table=" .. table.concat({"a", "b"}))
  collectgarbage("collect")
end
)",
                             "libs.lua");
    SimulatedCall call;
    Step step = run_call(e, 1, script, call);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_EQ(step.error,
              "libs.lua:9: collectgarbage('collect') is not allowed in a dialplan (only 'count')");
    EXPECT_THAT(
        call.steps(),
        ElementsAre("log info io=nil", "log info os=nil", "log info debug=nil",
                    "log info package=nil", "log info load=nil", "log info loadfile=nil",
                    "log info dofile=nil", "log info require=nil", "log info coroutine=nil",
                    "log info dump=nil", "log info gc=number", "log info math=2 utf8=H table=ab"));

    auto io = must_check(e, "function route(call)\n  io.open('/etc/passwd')\nend\n", "io.lua");
    SimulatedCall call2;
    EXPECT_EQ(run_call(e, 2, io, call2).error,
              "io.lua:2: unknown name 'io' (not a dialplan function or a variable set before)");
}

TEST(DialplanEngine, BytecodeIsRefused) {
    Engine e;
    auto r = e.check(std::string("\x1bLua\x54\x00", 6), "binary.lua");
    ASSERT_FALSE(r.has_value());
    EXPECT_THAT(r.error().message, HasSubstr("attempt to load a binary chunk"));
}

TEST(DialplanEngine, PrintGoesToTheLog) {
    Engine e;
    auto script = must_check(e,
                             "print('top level')\nfunction route(call) print('to', call.to, 42, "
                             "nil) call:log('careful', 'warn') end");
    SimulatedCall call;
    EXPECT_EQ(run_call(e, 1, script, call).state, Step::State::finished);
    EXPECT_THAT(call.steps(), ElementsAre("log info top level", "log info to\t2000\t42\tnil",
                                          "log warn careful"));
}

TEST(DialplanEngine, ConcurrentCallsOnOneScriptShareNoState) {
    Engine e;
    auto script = must_check(e, R"(
counter = 0
function route(call)
  counter = counter + 1
  string.custom = call.to
  call:bridge(call.to)
  call:log("counter=" .. counter .. " custom=" .. string.custom)
end
)");
    SimulatedCall a(to("1001"), {{BridgeResult::answered, 200}});
    SimulatedCall b(to("1002"), {{BridgeResult::answered, 200}});
    ASSERT_EQ(e.start(1, script, a).state, Step::State::waiting);
    ASSERT_EQ(e.start(2, script, b).state, Step::State::waiting);
    EXPECT_EQ(e.active_calls(), 2u);
    EXPECT_EQ(e.resume(2, b.next_outcome()).state, Step::State::finished);
    EXPECT_EQ(e.resume(1, a.next_outcome()).state, Step::State::finished);
    EXPECT_EQ(a.steps().back(), "log info counter=1 custom=1001");
    EXPECT_EQ(b.steps().back(), "log info counter=1 custom=1002");
}

TEST(DialplanEngine, ScriptErrorIsAFailureWithTheLine) {
    Engine e;
    auto script =
        must_check(e, "function route(call)\n  local n = nil\n  return n + 1\nend\n", "err.lua");
    SimulatedCall call;
    Step step = run_call(e, 1, script, call);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_THAT(step.error, HasSubstr("err.lua:3: attempt to perform arithmetic on a nil value"));
    // The engine keeps serving.
    auto ok = must_check(e, kRouting);
    SimulatedCall next(to("1001"), {{BridgeResult::answered, 200}});
    EXPECT_EQ(run_call(e, 2, ok, next).state, Step::State::finished);
}

TEST(DialplanEngine, HangupEndsTheScript) {
    Engine e;
    auto script =
        must_check(e, "function route(call) call:hangup(486, 'Busy Here') call:log('never') end");
    SimulatedCall call;
    EXPECT_EQ(run_call(e, 1, script, call).state, Step::State::finished);
    EXPECT_THAT(call.steps(), ElementsAre("hangup 486 Busy Here"));
}

TEST(DialplanEngine, WaitsInsideCallbacksAreRefusedBeforeActing) {
    Engine e;
    auto script = must_check(e,
                             "function route(call)\n  table.sort({2, 1}, function(a, b) "
                             "call:bridge('1001') return a < b end)\nend\n",
                             "cb.lua");
    SimulatedCall call;
    Step step = run_call(e, 1, script, call);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_EQ(step.error, "cb.lua:2: call:bridge() cannot be used inside this function");
    EXPECT_TRUE(call.steps().empty());

    auto room = must_check(e,
                           "function route(call)\n  table.sort({2, 1}, function(a, b) "
                           "call:conference('sales') return a < b end)\nend\n",
                           "cb.lua");
    SimulatedCall call2;
    step = run_call(e, 2, room, call2);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_EQ(step.error, "cb.lua:2: call:conference() cannot be used inside this function");
    EXPECT_TRUE(call2.steps().empty());

    auto keys = must_check(e,
                           "function route(call)\n  table.sort({2, 1}, function(a, b) "
                           "call:play_and_collect('menu') return a < b end)\nend\n",
                           "cb.lua");
    SimulatedCall call3;
    step = run_call(e, 3, keys, call3);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_EQ(step.error, "cb.lua:2: call:play_and_collect() cannot be used inside this function");
    EXPECT_TRUE(call3.steps().empty());
}

TEST(DialplanEngine, FinalizersAreRefused) {
    // Lua runs __gc with hooks off: a finalizer that loops would escape the budget.
    Engine e;
    auto script = must_check(e, R"(
function route(call)
  setmetatable({}, {__index = {}})
  setmetatable({}, {__gc = function() while true do end end})
end
)",
                             "gc.lua");
    SimulatedCall call;
    Step step = run_call(e, 1, script, call);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_EQ(step.error, "gc.lua:4: setmetatable: __gc is not allowed in a dialplan");

    auto top = e.check("setmetatable({}, {__gc = print})\nfunction route(call) end\n", "gc.lua");
    ASSERT_FALSE(top.has_value());
    EXPECT_EQ(top.error().message, "gc.lua:1: setmetatable: __gc is not allowed in a dialplan");
}

TEST(DialplanEngine, CostlyPatternsAreRefusedBeforeMatching) {
    // The matcher backtracks in C, out of the hook's reach: without the guard this takes minutes.
    Engine e;
    auto script = must_check(
        e, "function route(call)\n  local s = string.rep('a', 2000)\n  s:find('.-.-.-b')\nend\n",
        "pat.lua");
    SimulatedCall call;
    Step step = run_call(e, 1, script, call);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_THAT(
        step.error,
        HasSubstr("pat.lua:3: pattern too costly for a 2000-character string (3 repetitions)"));

    // Everyday patterns on numbers and URIs pass, and so does a plain search in a long string.
    auto everyday = must_check(e, R"(
function route(call)
  local user, host = ("sip:1001@pbx.example.com:5060"):match("^sip:(.-)@(.-):%d+$")
  local n = select(2, call.to:gsub("%d", "%0"))
  call:log(user .. " " .. host .. " " .. n .. " " .. tostring(string.rep("-", 16000):find("--", 1, true)))
  for d in ("1-2-3"):gmatch("[%d-]") do call:log(d) end
end
)");
    SimulatedCall ok;
    EXPECT_EQ(run_call(e, 2, everyday, ok).state, Step::State::finished);
    EXPECT_THAT(ok.steps(), ElementsAre("log info 1001 pbx.example.com 4 1", "log info 1",
                                        "log info -", "log info 2", "log info -", "log info 3"));

    // A loop of matches each under the limit is charged to the budget.
    Engine small(Limits{1'000'000, 10'000'000, 1 << 20});
    auto loop = must_check(small,
                           "function route(call)\n  local s = string.rep('a', 120)\n"
                           "  while true do s:find('.-.-b') end\nend\n",
                           "loop.lua");
    SimulatedCall looping;
    step = run_call(small, 3, loop, looping);
    EXPECT_EQ(step.state, Step::State::failed);
    EXPECT_EQ(step.error, "loop.lua:3: instruction budget exceeded (a loop that never waits?)");
}

TEST(DialplanEngine, CWorkIsChargedToTheBudget) {
    // Each line does a lot of work in C for few instructions: it must still end within the budget.
    Engine e;
    const char* scripts[] = {
        "function route(call)\n  local big = string.rep('a', 16000)\n  while true do local x = big "
        ".. 'b' end\nend\n",
        "function route(call)\n  while true do local x = string.rep('ab', 8000) end\nend\n",
        "function route(call)\n  local a, b = string.rep('a', 16000), string.rep('a', 16000)\n"
        "  while true do local x = a < b end\nend\n",
        "function route(call)\n  local t = {}\n  for i = 1, 10000 do t[i] = 'x' end\n"
        "  while true do local s = table.concat(t) end\nend\n",
    };
    std::uint64_t id = 0;
    for (const char* src : scripts) {
        auto script = must_check(e, src, "c.lua");
        SimulatedCall call;
        Step step = run_call(e, ++id, script, call);
        EXPECT_EQ(step.state, Step::State::failed) << src;
        EXPECT_THAT(step.error, HasSubstr("c.lua:")) << src;
        EXPECT_THAT(step.error, HasSubstr("instruction budget")) << src;
    }
    auto plain = must_check(e,
                            "function route(call)\n  local s = string.rep('a', 16000)\n"
                            "  s:find(string.rep('a', 1000) .. 'b', 1, true)\nend\n",
                            "plain.lua");
    SimulatedCall call;
    EXPECT_THAT(run_call(e, ++id, plain, call).error, HasSubstr("plain.lua:3: pattern too costly"));
}

}  // namespace
}  // namespace sb::dialplan
