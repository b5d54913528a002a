// The query helper shares a query's work without losing or repeating any of
// it: when it is spinning, when it has gone to sleep, and when a second query
// finds it taken.
#include "storage/ann/query_helper.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace facedex {
namespace {

using storage::QueryHelper;
using storage::QueryHelperLease;
using storage::share_work;

// Runs share_work over n items of ~`spin` loop turns each; every item must be
// done exactly once. Returns how many the helper did.
size_t run_once(QueryHelper* helper, size_t n, size_t grain, int spin) {
  std::vector<std::atomic<int>> done(n);
  size_t by[2] = {0, 0};
  bool finished[2] = {false, false};
  std::atomic<unsigned> sink{0};
  share_work(
      helper, n, grain,
      [&](size_t begin, size_t end, int who) {
        for (size_t i = begin; i < end; ++i) {
          unsigned x = unsigned(i);
          for (int s = 0; s < spin; ++s) x = x * 1664525u + 1013904223u;
          sink.fetch_add(x, std::memory_order_relaxed);
          done[i].fetch_add(1, std::memory_order_relaxed);
          ++by[who];
        }
      },
      [&](int who) { finished[who] = true; });
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(done[i].load(), 1) << "item " << i;
  EXPECT_EQ(by[0] + by[1], n);
  EXPECT_TRUE(finished[0]);
  EXPECT_TRUE(by[1] == 0 || finished[1]) << "the helper worked but did not finish";
  return by[1];
}

TEST(QueryHelperTest, SharesEveryItemExactlyOnce) {
  const bool two_cores = std::thread::hardware_concurrency() >= 2;
  size_t helped = 0;
  for (int round = 0; round < 300; ++round) {
    QueryHelperLease lease;
    EXPECT_EQ(lease.get() != nullptr, two_cores);
    helped += run_once(lease.get(), 1001, 7, 200);
  }
  // How much the helper did depends on timing; without one it does nothing.
  if (!two_cores) {
    EXPECT_EQ(helped, 0u);
  }
}

TEST(QueryHelperTest, APostedJobIsRunByTheHelperThread) {
  QueryHelperLease lease;
  if (!lease.get()) GTEST_SKIP() << "single-core machine: no helper thread";
  for (int round = 0; round < 3; ++round) {
    if (round == 2) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // asleep by now
    std::atomic<bool> ran{false};
    std::thread::id on;
    auto job = [&] {
      on = std::this_thread::get_id();
      ran.store(true, std::memory_order_release);
    };
    lease.get()->start(job);
    // Wait for the helper to take it (seconds, not a race: finish() would take it back).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!ran.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < give_up)
      std::this_thread::yield();
    EXPECT_TRUE(lease.get()->finish()) << "round " << round;
    ASSERT_TRUE(ran.load()) << "the helper never ran the job (round " << round << ")";
    EXPECT_NE(on, std::this_thread::get_id());
  }
}

TEST(QueryHelperTest, OneQueryAtATime) {
  QueryHelperLease first;
  if (!first.get()) GTEST_SKIP() << "single-core machine: no helper thread";
  QueryHelperLease second;
  EXPECT_EQ(second.get(), nullptr) << "a second query must run alone while the first has the helper";
  run_once(second.get(), 100, 3, 10);  // alone, all of it
  run_once(first.get(), 100, 3, 10);
}

TEST(QueryHelperTest, WorksAfterTheHelperHasGoneToSleep) {
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past its spinning
    QueryHelperLease lease;
    run_once(lease.get(), 64, 1, 0);       // likely done before the helper is up
    run_once(lease.get(), 5000, 16, 500);  // long enough for it to join
  }
}

}  // namespace
}  // namespace facedex
