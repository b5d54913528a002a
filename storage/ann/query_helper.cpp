#include "storage/ann/query_helper.h"

#include <immintrin.h>

#include <chrono>
#include <thread>

namespace facedex::storage {
namespace {

using Clock = std::chrono::steady_clock;

// How long the helper spins after a job or a poke before it sleeps: longer
// than the gap between back-to-back queries, short enough that a core is not
// held for long once they stop.
constexpr auto kSpinAfterWork = std::chrono::milliseconds(2);

}  // namespace

QueryHelper* QueryHelper::instance() {
  // Never destroyed: its thread may still be asleep in it when the process exits.
  static QueryHelper* const helper = std::thread::hardware_concurrency() >= 2 ? new QueryHelper : nullptr;
  return helper;
}

uint64_t QueryHelper::jobs_run() {
  const QueryHelper* helper = instance();
  return helper ? helper->jobs_.load(std::memory_order_acquire) : 0;
}

QueryHelper* QueryHelper::claim() {
  QueryHelper* const helper = instance();
  if (!helper || helper->taken_.exchange(true, std::memory_order_acquire)) return nullptr;
  helper->signal(helper->pokes_);
  return helper;
}

void QueryHelper::release() { taken_.store(false, std::memory_order_release); }

QueryHelper::QueryHelper() {
  std::thread([this] { loop(); }).detach();
}

void QueryHelper::signal(std::atomic<uint64_t>& counter) {
  counter.fetch_add(1, std::memory_order_seq_cst);
  // seq_cst against loop()'s store of sleeping_: either it sees this count
  // before it sleeps, or this sees it asleep and notifies it.
  if (sleeping_.load(std::memory_order_seq_cst)) {
    std::lock_guard<std::mutex> lock(mutex_);
    wakeup_.notify_one();
  }
}

bool QueryHelper::finish() {
  int expected = kPosted;
  if (state_.compare_exchange_strong(expected, kIdle, std::memory_order_acq_rel)) return false;
  while (state_.load(std::memory_order_acquire) != kDone) _mm_pause();
  state_.store(kIdle, std::memory_order_relaxed);
  return true;
}

void QueryHelper::loop() {
  uint64_t pokes = pokes_.load();
  auto until = Clock::now() + kSpinAfterWork;
  for (;;) {
    int expected = kPosted;
    if (state_.load(std::memory_order_relaxed) == kPosted &&
        state_.compare_exchange_strong(expected, kRunning, std::memory_order_acquire)) {
      run_(arg_);
      jobs_.fetch_add(1, std::memory_order_relaxed);
      state_.store(kDone, std::memory_order_release);
      until = Clock::now() + kSpinAfterWork;
      continue;
    }
    if (const uint64_t now_pokes = pokes_.load(std::memory_order_relaxed); now_pokes != pokes) {
      pokes = now_pokes;
      until = Clock::now() + kSpinAfterWork;
    }
    if (Clock::now() < until) {
      _mm_pause();
      continue;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    sleeping_.store(true, std::memory_order_seq_cst);
    wakeup_.wait(lock, [&] { return pokes_.load() != pokes || state_.load() == kPosted; });
    sleeping_.store(false, std::memory_order_relaxed);
  }
}

}  // namespace facedex::storage
