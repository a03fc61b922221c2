// The memory give-back: when its policy says to give memory back (after a burst of connections
// ends; never under a steady load, nor for a small one; at most once per interval), and that
// its thread acts on the policy. The policy is fed an explicit time: no clock, no sleeps.
#include <atomic>
#include <chrono>
#include <future>

#include <doctest/doctest.h>

#include "pier/daemon/memory_give_back.hpp"

namespace pier::daemon {
namespace {

using namespace std::chrono_literals;
using time_point = give_back_policy::clock::time_point;

const time_point t0{};

/// A tick that sees `open` connections, and no more than that since the previous tick.
connection_counts steady(std::size_t open) { return {.open = open, .most_open = open}; }

// Proves a burst that ends is given back at the first tick after the count falls.
TEST_CASE("memory_give_back: due once a burst ends") {
    give_back_policy policy;
    CHECK_FALSE(policy.due(steady(0), t0));
    CHECK_FALSE(policy.due(steady(10000), t0 + 1s));
    CHECK(policy.due(steady(0), t0 + 2s));
    CHECK_FALSE(policy.due(steady(0), t0 + 60s));  // nothing more was freed since
}

// Proves a burst that opens and closes between two ticks is given back: its peak comes from
// most_open, which the count at each tick never shows.
TEST_CASE("memory_give_back: due after a burst seen only through its peak") {
    give_back_policy policy;
    CHECK_FALSE(policy.due(steady(0), t0));
    CHECK(policy.due({.open = 0, .most_open = 10000}, t0 + 1s));
    CHECK_FALSE(policy.due(steady(0), t0 + 60s));
}

// Proves a steady load, even a large one with churn, never pays for a trim.
TEST_CASE("memory_give_back: not due under a steady load") {
    give_back_policy policy;
    for (int tick = 0; tick < 600; ++tick) {
        // 10,000 connections, a few dozen more or fewer from one tick to the next.
        const std::size_t open = 10000 - static_cast<std::size_t>(tick % 7) * 10;
        CHECK_FALSE(policy.due(steady(open), t0 + std::chrono::seconds(tick)));
    }
}

// Proves a drop must be large in absolute terms and against the peak.
TEST_CASE("memory_give_back: small drops are not due") {
    SUBCASE("a small load that ends") {
        give_back_policy policy;
        CHECK_FALSE(policy.due(steady(50), t0));
        CHECK_FALSE(policy.due(steady(0), t0 + 1s));  // 50 < min_drop 64
    }
    SUBCASE("a large load that falls by less than a quarter") {
        give_back_policy policy;
        CHECK_FALSE(policy.due(steady(10000), t0));
        CHECK_FALSE(policy.due(steady(7600), t0 + 1s));  // 2,400 < 10,000 / 4
        CHECK(policy.due(steady(7400), t0 + 2s));
    }
}

// Proves a load that swings is trimmed at most once per min_interval, and that each trim
// starts a new peak.
TEST_CASE("memory_give_back: at most once per interval") {
    give_back_policy policy({.min_drop = 64, .drop_divisor = 4, .min_interval = 5s});
    CHECK_FALSE(policy.due(steady(1000), t0));
    CHECK(policy.due(steady(0), t0 + 1s));
    CHECK_FALSE(policy.due(steady(1000), t0 + 2s));
    CHECK_FALSE(policy.due(steady(0), t0 + 3s));  // 2 s after the last one
    CHECK_FALSE(policy.due(steady(0), t0 + 5s));
    CHECK(policy.due(steady(0), t0 + 6s));  // 5 s after it: the burst of t0 + 2s is given back
    CHECK_FALSE(policy.due(steady(0), t0 + 20s));
}

// Proves the thread reads the count each tick and gives back when the policy says so.
TEST_CASE("memory_give_back: the thread gives back after the count falls") {
    std::atomic<std::size_t> open{1000};
    std::atomic<int> reads{0};
    std::promise<void> given;
    std::atomic<bool> once{false};
    memory_give_back give_back(
        [&] {
            if (++reads == 3) open = 0;  // the burst ends at the third tick
            return steady(open.load());
        },
        [&] {
            if (!once.exchange(true)) given.set_value();
        },
        {}, 1ms);
    REQUIRE_MESSAGE(given.get_future().wait_for(10s) == std::future_status::ready,
                    "did not finish: no give-back within 10 s");
    CHECK(reads >= 3);
}

}  // namespace
}  // namespace pier::daemon
