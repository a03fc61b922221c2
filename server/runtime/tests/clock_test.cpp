// runtime::clock: the steady clock, which tests move forward instead of waiting.
#include <chrono>

#include <doctest/doctest.h>

#include "pier/runtime/clock.hpp"

namespace pier::runtime {
namespace {

using namespace std::chrono_literals;

// Proves advance() moves now() forward by at least the amount, at once, against the steady
// clock, and that a negative amount is ignored (the clock never goes back).
TEST_CASE("clock: advance moves now forward, never back") {
    const auto steady_before = std::chrono::steady_clock::now().time_since_epoch();
    const auto before = clock::now().time_since_epoch();
    CHECK(before >= steady_before);  // never behind the steady clock

    clock::advance(1h);
    const auto after = clock::now().time_since_epoch();
    const auto steady_after = std::chrono::steady_clock::now().time_since_epoch();
    CHECK(after - before >= 1h);
    CHECK(after - before < 1h + (steady_after - steady_before) + 1s);

    clock::advance(-2h);
    CHECK(clock::now().time_since_epoch() >= after);
}

}  // namespace
}  // namespace pier::runtime
