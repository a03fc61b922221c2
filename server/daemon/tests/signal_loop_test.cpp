// Unit tests for the main thread's signal loop (daemon/signal_loop.hpp), on a fake clock: the
// waits, the signals and the time a reload takes are scripted, and the test records when the
// heartbeat ran.
#include <doctest/doctest.h>

#include <csignal>
#include <vector>

#include "pier/daemon/signal_loop.hpp"

using namespace pier::daemon;
using namespace std::chrono_literals;
using clock_type = signal_loop_hooks::clock;

namespace {

/// A steady clock that moves only when the script says so, and the loop's record of events.
struct fake_daemon {
    clock_type::time_point now{};
    std::vector<clock_type::time_point> beats;
    int reloads = 0;
    std::vector<std::optional<clock_type::duration>> waits;

    /// Hooks whose wait takes signals from `next_signal` (given the time a wait starts and how
    /// long it may last, the signal and the time it arrives, or 0 and the time the wait ends).
    template <typename NextSignal>
    signal_loop_hooks hooks(NextSignal next_signal, clock_type::duration reload_takes = 0ms) {
        signal_loop_hooks h;
        h.now = [this] { return now; };
        h.beat = [this] { beats.push_back(now); };
        h.reload = [this, reload_takes] {
            ++reloads;
            now += reload_takes;
        };
        h.wait_for_signal = [this,
                             next_signal](std::optional<clock_type::duration> timeout) mutable {
            waits.push_back(timeout);
            const auto [signal_number, at] = next_signal(now, timeout);
            now = at;
            return signal_number;
        };
        return h;
    }

    clock_type::duration longest_gap_between_beats() const {
        auto longest = clock_type::duration::zero();
        for (std::size_t i = 1; i < beats.size(); ++i) {
            longest = std::max(longest, beats[i] - beats[i - 1]);
        }
        return longest;
    }
};

/// A SIGHUP every `every` until `stop_at`, then SIGTERM.
auto periodic_sighup(clock_type::duration every, clock_type::time_point stop_at) {
    auto next = clock_type::time_point{} + every;
    return [next, every, stop_at](clock_type::time_point now,
                                  std::optional<clock_type::duration> timeout) mutable {
        if (now >= stop_at) return std::pair{SIGTERM, now};
        if (timeout && now + *timeout < next) return std::pair{0, now + *timeout};
        const auto at = std::max(now, next);
        next += every;
        return std::pair{SIGHUP, at};
    };
}

}  // namespace

// Proves the heartbeat keeps its period under signals that come more often than it: SIGHUP
// every 100 ms for 3 s with a 250 ms period still beats every 250 ms (a 250 ms wait restarted
// after each signal would never have run out).
TEST_CASE("signal_loop: signals more frequent than the beat period do not postpone the beats") {
    fake_daemon daemon;
    const auto stop_at = clock_type::time_point{} + 3s;
    const int stopped_by = run_signal_loop(250ms, daemon.hooks(periodic_sighup(100ms, stop_at)));
    CHECK(stopped_by == SIGTERM);
    CHECK(daemon.reloads == 30);
    CHECK(daemon.beats.size() == 13);  // 0, 250 ms, ... 3 s
    CHECK(daemon.longest_gap_between_beats() == 250ms);
    for (const auto& wait : daemon.waits) {
        REQUIRE(wait.has_value());
        CHECK(*wait <= 250ms);
    }
}

// Proves a beat that falls due during a reload runs before the next signal is taken: with a
// signal always pending and each reload taking 400 ms (longer than the 250 ms period), a beat
// runs between every two reloads, one period after the previous beat at the earliest.
TEST_CASE("signal_loop: a beat due after a slow reload runs before the next reload") {
    fake_daemon daemon;
    const auto stop_at = clock_type::time_point{} + 2s;
    const auto always_pending = [stop_at](clock_type::time_point now,
                                          std::optional<clock_type::duration>) {
        return std::pair{now >= stop_at ? SIGTERM : SIGHUP, now};
    };
    CHECK(run_signal_loop(250ms, daemon.hooks(always_pending, 400ms)) == SIGTERM);
    CHECK(daemon.reloads == 5);  // at 0, 400 ms, ... 1.6 s
    REQUIRE(daemon.beats.size() == 6);
    for (std::size_t i = 0; i < daemon.beats.size(); ++i) {
        CHECK(daemon.beats[i] == clock_type::time_point{} + static_cast<int>(i) * 400ms);
    }
}

// Proves a wait that ends early without a signal (EINTR from another signal) neither beats
// early nor moves the schedule: the next wait lasts only the rest of the period.
TEST_CASE("signal_loop: a wait interrupted early keeps the schedule") {
    fake_daemon daemon;
    int calls = 0;
    const auto early_then_on_time = [&calls](clock_type::time_point now,
                                             std::optional<clock_type::duration> timeout) {
        ++calls;
        if (calls == 7) return std::pair{SIGINT, now};
        // Odd calls return after 100 ms with nothing, even ones run to their timeout.
        return std::pair{0, now + (calls % 2 == 1 ? 100ms : *timeout)};
    };
    CHECK(run_signal_loop(250ms, daemon.hooks(early_then_on_time)) == SIGINT);
    REQUIRE(daemon.waits.size() == 7);
    CHECK(daemon.waits[0] == std::optional<clock_type::duration>(250ms));
    CHECK(daemon.waits[1] == std::optional<clock_type::duration>(150ms));  // the rest of it
    CHECK(daemon.waits[2] == std::optional<clock_type::duration>(250ms));
    REQUIRE(daemon.beats.size() == 4);
    CHECK(daemon.longest_gap_between_beats() == 250ms);
    CHECK(daemon.reloads == 0);
}

// Proves that without a watchdog the loop never beats and waits without a timeout.
TEST_CASE("signal_loop: without a period, no beats and unbounded waits") {
    fake_daemon daemon;
    int calls = 0;
    const auto two_reloads_then_term = [&calls](clock_type::time_point now,
                                                std::optional<clock_type::duration>) {
        return std::pair{++calls < 3 ? SIGHUP : SIGTERM, now + 1h};
    };
    CHECK(run_signal_loop(std::nullopt, daemon.hooks(two_reloads_then_term)) == SIGTERM);
    CHECK(daemon.beats.empty());
    CHECK(daemon.reloads == 2);
    REQUIRE(daemon.waits.size() == 3);
    for (const auto& wait : daemon.waits) CHECK_FALSE(wait.has_value());
}
