#include "sb/call/best_response.h"

#include <gtest/gtest.h>

#include <vector>

namespace sb::call {
namespace {

int best(std::vector<int> v) {
    return best_final_response(v);
}

TEST(BestResponse, SixHundredWins) {
    EXPECT_EQ(best({486, 603, 500}), 603);
}
TEST(BestResponse, LowestClass) {
    EXPECT_EQ(best({503, 404}), 404);
}
TEST(BestResponse, BusyBeforeUnavailableBeforeCancelled) {
    EXPECT_EQ(best({487, 480, 486}), 486);
    EXPECT_EQ(best({487, 408, 480}), 480);
    EXPECT_EQ(best({487, 403}), 403);
}
TEST(BestResponse, Empty) {
    EXPECT_EQ(best({}), 0);
}

TEST(BridgeOutcome, Mapping) {
    EXPECT_EQ(bridge_outcome(200, false).result, BridgeResult::answered);
    EXPECT_EQ(bridge_outcome(486, false).result, BridgeResult::busy);
    EXPECT_EQ(bridge_outcome(600, false).result, BridgeResult::busy);
    EXPECT_EQ(bridge_outcome(404, false).result, BridgeResult::unavailable);
    EXPECT_EQ(bridge_outcome(480, false).result, BridgeResult::unavailable);
    EXPECT_EQ(bridge_outcome(487, true).result, BridgeResult::noanswer);
    EXPECT_EQ(bridge_outcome(487, true).code, 480);
    EXPECT_EQ(bridge_outcome(488, false).result, BridgeResult::failed);
    EXPECT_EQ(bridge_outcome(488, false).code, 488);
}

TEST(FinalStatus, ForCaller) {
    EXPECT_EQ(final_status_for(std::nullopt), 404);
    EXPECT_EQ(final_status_for(Outcome{BridgeResult::noanswer, 480}), 480);
    EXPECT_EQ(final_status_for(Outcome{BridgeResult::unavailable, 503}), 500);
    EXPECT_EQ(final_status_for(Outcome{BridgeResult::busy, 486}), 486);
}

}  // namespace
}  // namespace sb::call
