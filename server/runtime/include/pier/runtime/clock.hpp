// The time connections' timeouts and the drain go by: the steady clock, which a test may move
// forward (advance()) instead of waiting, as Tokio's tests do with tokio::time::advance. Its
// readers: a connection's activity and request stamps (net/connection.cpp), the timeout sweep
// (net/timeout_sweep.cpp) and the drain deadlines (net/connection_set.cpp, daemon/server.cpp).
// Timers still wait in real time: whatever waits for a timeout looks at this clock when it
// wakes (the sweep every interval or when woken, the drain at least every 250 ms), so a test
// that advances the clock then wakes the sweep sees a timeout at once.
//
// Nothing in pierd calls advance(): there, this clock is the steady clock. The offset is one
// relaxed load per reading, and process-wide: it moves every listener's time together.
//
// Threads: any.
#pragma once

#include <atomic>
#include <chrono>

namespace pier::runtime {

class clock {
public:
    using duration = std::chrono::steady_clock::duration;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<clock>;
    static constexpr bool is_steady = true;

    static time_point now() noexcept {
        return time_point(std::chrono::steady_clock::now().time_since_epoch() +
                          duration(offset_.load(std::memory_order_relaxed)));
    }

    /// Tests only: moves the clock `by` forward (never back: it stays steady).
    static void advance(duration by) noexcept {
        if (by > duration::zero()) offset_.fetch_add(by.count(), std::memory_order_relaxed);
    }

private:
    static inline std::atomic<rep> offset_{0};
};

}  // namespace pier::runtime
