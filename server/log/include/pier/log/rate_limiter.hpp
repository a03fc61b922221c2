// A token that lets a log line through at most once per interval, counting what it held back.
//
// Hot paths that can fail many times a second (accept errors, limit hits) log through one of
// these so a flood of failures costs one line per interval, not one per event. Thread-safe:
// any thread may call allow(); it is lock-free.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace pier::log {

class rate_limiter {
public:
    /// At most one allowed event per `interval`.
    explicit rate_limiter(std::chrono::nanoseconds interval) : interval_ns_(interval.count()) {}

    /// Returns the number of events suppressed since the last allowed one, plus one for this
    /// event, when this event may be logged; returns 0 when it must be dropped. `now` is the
    /// caller's steady-clock reading (tests pass their own).
    std::uint64_t allow(
        std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

private:
    const std::int64_t interval_ns_;
    /// ns since the clock's epoch of the next allowed event.
    /// ordering: a relaxed counter; only which thread wins the CAS matters.
    std::atomic<std::int64_t> next_allowed_ns_{0};
    /// Events seen since the last allowed one (including dropped ones).
    std::atomic<std::uint64_t> pending_{0};
};

}  // namespace pier::log
