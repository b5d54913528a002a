#include "models/decode_budget.h"

#include <unistd.h>

#include <condition_variable>
#include <mutex>

namespace facedex::models {

struct DecodeBudget::State {
  std::mutex mu;
  std::condition_variable freed;
  int64_t total = 0;
  int64_t used = 0;
};

DecodeBudget::DecodeBudget() : state_(std::make_shared<State>()) { state_->total = default_bytes(); }

DecodeBudget& DecodeBudget::process() {
  static DecodeBudget budget;
  return budget;
}

int64_t DecodeBudget::default_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return int64_t(4) << 30;
  return int64_t(pages) * page / 2;
}

void DecodeBudget::set_bytes(int64_t bytes) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->total = bytes;
  state_->freed.notify_all();
}

int64_t DecodeBudget::bytes() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->total;
}

Expected<std::shared_ptr<void>> DecodeBudget::reserve(int64_t bytes) {
  std::unique_lock<std::mutex> lock(state_->mu);
  if (bytes > state_->total)
    return Status::unsupported("needs " + std::to_string(bytes >> 20) +
                               " MiB to decode, more than the memory budget of " + std::to_string(state_->total >> 20) +
                               " MiB (--memory-budget)")
        .because(Status::Reason::kTooLarge);
  state_->freed.wait(lock, [&] { return state_->used + bytes <= state_->total; });
  state_->used += bytes;
  // The handle keeps the state alive: a photo may outlive any caller.
  std::shared_ptr<State> state = state_;
  return std::shared_ptr<void>(nullptr, [state, bytes](void*) {
    std::lock_guard<std::mutex> l(state->mu);
    state->used -= bytes;
    state->freed.notify_all();
  });
}

}  // namespace facedex::models
