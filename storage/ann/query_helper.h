// A second thread that takes part of one query's work.
//
// Why: a million-face query spends most of its time waiting on memory for the
// probed lists' codes (storage/ann/fast_search.cpp), and a second core doubles the
// reads in flight. OpenMP's threads cannot be handed such short work on this
// VM: a sleeping vCPU takes 25-100 us to wake, a tenth of the query or more
// (RESULTS.md, "Search at scale"), and OpenMP's active waiting kept both
// cores spinning for good. This thread spins for a short while after its
// last job, so that queries coming one after another find it running; work
// is shared by stealing chunks (share_work), so a query never waits for a
// helper that is still waking up: it does the work itself.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace facedex::storage {

class QueryHelper {
 public:
  // The helper for the calling query, poked awake, or nullptr when another
  // query has it or this machine has a single core. Give it back with
  // release().
  static QueryHelper* claim();
  void release();
  // How many jobs the helper thread has run since the process started.
  static uint64_t jobs_run();

  // Offers job() to the helper thread; one job at a time. The caller keeps
  // `job` alive until finish() returns.
  template <typename Job>
  void start(Job& job) {
    run_ = [](void* p) { (*static_cast<Job*>(p))(); };
    arg_ = &job;
    state_.store(kPosted, std::memory_order_release);
    signal(pokes_);
  }
  // Takes the job back if the helper has not begun it, or waits for it to end.
  // Returns whether it ran.
  bool finish();

  QueryHelper(const QueryHelper&) = delete;
  QueryHelper& operator=(const QueryHelper&) = delete;

 private:
  enum State : int { kIdle, kPosted, kRunning, kDone };
  QueryHelper();
  static QueryHelper* instance();
  // Counts one more on `counter` and wakes the thread if it sleeps.
  void signal(std::atomic<uint64_t>& counter);
  void loop();

  std::atomic<bool> taken_{false};
  std::atomic<int> state_{kIdle};
  std::atomic<uint64_t> pokes_{0}, jobs_{0};
  void (*run_)(void*) = nullptr;
  void* arg_ = nullptr;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::atomic<bool> sleeping_{false};
};

// The helper claimed for one scope (or none), given back at its end.
class QueryHelperLease {
 public:
  QueryHelperLease() : helper_(QueryHelper::claim()) {}
  ~QueryHelperLease() {
    if (helper_) helper_->release();
  }
  QueryHelper* get() const { return helper_; }
  QueryHelperLease(const QueryHelperLease&) = delete;
  QueryHelperLease& operator=(const QueryHelperLease&) = delete;

 private:
  QueryHelper* const helper_;
};

// Runs body(begin, end, who) over [0, n) in chunks of `grain`, taken in order
// by the calling thread (who 0) and, while chunks remain, by `helper` (who 1)
// if there is one; then done(who) on each thread that took part. Returns once
// all of it has run.
template <typename Body, typename Done>
void share_work(QueryHelper* helper, size_t n, size_t grain, const Body& body, const Done& done) {
  std::atomic<size_t> next{0};
  auto work = [&](int who) {
    for (;;) {
      const size_t begin = next.fetch_add(grain, std::memory_order_relaxed);
      if (begin >= n) break;
      body(begin, std::min(begin + grain, n), who);
    }
    done(who);
  };
  auto theirs = [&] { work(1); };
  if (helper) helper->start(theirs);
  work(0);
  if (helper) helper->finish();
}

}  // namespace facedex::storage
