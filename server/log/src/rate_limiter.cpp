#include "pier/log/rate_limiter.hpp"

#include <algorithm>

namespace pier::log {

std::uint64_t rate_limiter::allow(std::chrono::steady_clock::time_point now) {
    const std::int64_t now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    pending_.fetch_add(1, std::memory_order_relaxed);
    std::int64_t next = next_allowed_ns_.load(std::memory_order_relaxed);
    while (now_ns >= next) {
        if (next_allowed_ns_.compare_exchange_weak(next, now_ns + interval_ns_,
                                                   std::memory_order_relaxed)) {
            // This thread won the interval: report everything counted since the last winner.
            // At least 1: this event itself, even if a racing winner already took the count.
            return std::max<std::uint64_t>(1, pending_.exchange(0, std::memory_order_relaxed));
        }
    }
    return 0;
}

}  // namespace pier::log
