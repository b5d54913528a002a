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
}

}  // namespace
}  // namespace facedex::search
