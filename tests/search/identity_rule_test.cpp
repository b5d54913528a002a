#include "search/identity_rule.h"

#include <gtest/gtest.h>

namespace facedex::search {
namespace {

TEST(IdentityRuleTest, NeighboursAreGroupedByPersonWithVotesAndNearestDistance) {
  const auto c = rank_candidates({{1, 7, 0.45f}, {2, 9, 0.40f}, {3, 7, 0.30f}, {4, 7, 0.50f}});
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].person_id, 7u);
  EXPECT_FLOAT_EQ(c[0].distance, 0.30f);
  EXPECT_EQ(c[0].votes, 3);
  EXPECT_EQ(c[1].person_id, 9u);
  EXPECT_EQ(c[1].votes, 1);
  EXPECT_EQ(c[0].face_id, 3u) << "the person's nearest face";
}

TEST(IdentityRuleTest, CrowdingScoreAcceptsAnIsolatedMatchAndRefusesTheSameDistanceInACrowd) {
  const IdentityRule rule = identity_rule_for_model(0.6f);
  ASSERT_TRUE(rule.crowding);
  // One distance and margin; only the gallery around the faces differs.
  const IdentityEvidence sparse{0.42f, 0.10f, 0.60f, 0.60f};
  const IdentityEvidence crowded{0.42f, 0.10f, 0.40f, 0.40f};
  EXPECT_GE(crowding_score(sparse, *rule.crowding), 0.f);
  EXPECT_LT(crowding_score(crowded, *rule.crowding), 0.f);
  // Further away or with a closer runner-up, the score only falls.
  EXPECT_LT(crowding_score({0.50f, 0.10f, 0.60f, 0.60f}, *rule.crowding), crowding_score(sparse, *rule.crowding));
  EXPECT_LT(crowding_score({0.42f, 0.02f, 0.60f, 0.60f}, *rule.crowding), crowding_score(sparse, *rule.crowding));
}

TEST(IdentityRuleTest, CrowdingScoreScalesWithTheModelsDistances) {
  const IdentityRule dlib = identity_rule_for_model(0.6f), wide = identity_rule_for_model(1.2f);
  const IdentityEvidence e{0.42f, 0.10f, 0.55f, 0.50f};
  const IdentityEvidence doubled{0.84f, 0.20f, 1.10f, 1.00f};
  EXPECT_NEAR(crowding_score(e, *dlib.crowding), crowding_score(doubled, *wide.crowding), 1e-4);
}

TEST(IdentityRuleTest, NearestPersonNeedsDistanceAndMargin) {
  IdentityRule rule;
  rule.max_distance = 0.5f;
  rule.min_margin = 0.05f;
  EXPECT_TRUE(accepts({{1, 0.30f, 1}, {2, 0.50f, 1}}, rule));
  EXPECT_FALSE(accepts({{1, 0.30f, 1}, {2, 0.33f, 1}}, rule)) << "too close to the runner-up";
  EXPECT_FALSE(accepts({{1, 0.55f, 1}}, rule)) << "too far";
  EXPECT_TRUE(accepts({{1, 0.45f, 1}}, rule)) << "no runner-up at all";
  EXPECT_FALSE(accepts({}, rule));
  rule.plain_threshold = true;
  EXPECT_TRUE(accepts({{1, 0.30f, 1}, {2, 0.31f, 1}}, rule)) << "--threshold ignores the margin";
}

TEST(IdentityRuleTest, TwoFacesOfOnePhotoNeverGetTheSamePerson) {
  IdentityRule rule;
  // Both faces' best candidate is person 5; the nearer face keeps them.
  const std::vector<std::vector<Candidate>> faces = {
      {{5, 0.40f, 1}, {6, 0.70f, 1}}, {{5, 0.20f, 1}, {6, 0.70f, 1}}, {{6, 0.25f, 1}}};
  const auto chosen = assign_identities(faces, rule);
  EXPECT_EQ(chosen, (std::vector<int>{-1, 0, 0}));
  // The same when acceptance was decided by the crowding score.
  EXPECT_EQ(assign_identities(faces, std::vector<bool>{true, true, true}), (std::vector<int>{-1, 0, 0}));
  EXPECT_EQ(assign_identities(faces, std::vector<bool>{true, false, true}), (std::vector<int>{0, -1, 0}));
}

}  // namespace
}  // namespace facedex::search
