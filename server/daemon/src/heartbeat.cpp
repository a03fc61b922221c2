#include "pier/daemon/heartbeat.hpp"

namespace pier::daemon {

heartbeat::heartbeat(runtime::io_pool& pool)
    : pool_(pool), state_(std::make_shared<state>(pool.size())) {}

bool heartbeat::beat() {
    late_.clear();
    for (std::size_t i = 0; i < state_->reached.size(); ++i) {
        if (state_->reached[i].load(std::memory_order_acquire) != round_) late_.push_back(i);
    }
    const bool all_reached = round_ > 0 && late_.empty();
    ++round_;
    for (std::size_t i = 0; i < state_->reached.size(); ++i) {
        pool_.post(i, [&pool = pool_, shared = state_, i, round = round_] {
            if (pool.current_worker() == static_cast<int>(i)) {
                shared->reached[i].store(round, std::memory_order_release);
            }
        });
    }
    return all_reached;
}

}  // namespace pier::daemon
