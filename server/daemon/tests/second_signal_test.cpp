// Unit tests for second_signal: which signals cut the drain short, with scripted waits.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <mutex>
#include <stop_token>
#include <vector>

#include "pier/daemon/second_signal.hpp"

using pier::daemon::second_signal;

namespace {

/// A wait that returns `script`'s signals in turn, then 0 ("none came") for ever after.
class scripted_waits {
public:
    explicit scripted_waits(std::vector<int> script) : script_(std::move(script)) {}
    second_signal::wait_function function() {
        return [this](std::chrono::nanoseconds) {
            std::lock_guard lock(mutex_);
            if (next_ < script_.size()) return script_[next_++];
            if (!drained_) {
                drained_ = true;
                all_returned_.set_value();
            }
            return 0;
        };
    }
    /// Ready once every scripted signal has been returned and the wait asked again.
    std::future<void> all_returned() { return all_returned_.get_future(); }

private:
    std::mutex mutex_;
    std::vector<int> script_;
    std::size_t next_ = 0;
    bool drained_ = false;
    std::promise<void> all_returned_;
};

}  // namespace

TEST_CASE("second signal: SIGTERM or SIGINT cuts the drain; SIGHUP and silence do not") {
    for (const int cutting : {SIGTERM, SIGINT}) {
        scripted_waits waits({0, SIGHUP, 0, cutting});
        second_signal again(waits.function());
        std::promise<void> cut;
        const std::stop_callback on_cut(again.arrived(), [&] { cut.set_value(); });
        REQUIRE(cut.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    }
    scripted_waits quiet({0, SIGHUP, 0, SIGHUP});
    auto all_returned = quiet.all_returned();
    second_signal again(quiet.function());
    REQUIRE(all_returned.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK_FALSE(again.arrived().stop_requested());
}

// Proves the destructor returns when no signal ever comes: the waits are bounded, and the
// thread notices its stop between them (the test's deadline is ctest's timeout).
TEST_CASE("second signal: destroyed without a signal, it stops waiting") {
    std::atomic<int> waits{0};
    std::atomic<bool> bounded{true};
    std::promise<void> waiting;
    {
        second_signal again([&](std::chrono::nanoseconds timeout) {
            if (timeout != second_signal::poll_period) bounded = false;
            if (waits.fetch_add(1) == 0) waiting.set_value();
            return 0;
        });
        REQUIRE(waiting.get_future().wait_for(std::chrono::seconds(10)) ==
                std::future_status::ready);
    }
    CHECK(waits.load() >= 1);
    CHECK(bounded.load());
}
