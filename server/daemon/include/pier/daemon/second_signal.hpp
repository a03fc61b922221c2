// While pierd drains, a second SIGTERM or SIGINT ends the drain at once: what is still open is
// cancelled, as when shutdown.drain_timeout passes. An operator who presses Ctrl-C twice, or
// runs `kill` again, wants it over now (a service manager that has lost patience sends SIGKILL,
// which cuts more). SIGHUP is ignored then: there is nothing left to reload.
//
// Threads: a thread of its own waits for the signals, from construction until destruction;
// construct it on a thread that has them blocked (block_daemon_signals()), so that the process's
// signals go to whichever thread waits for them: this one, while the main thread drains.
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <thread>

namespace pier::daemon {

class second_signal {
public:
    /// Waits for a daemon signal at most the given time; returns its number, or 0 if none came.
    using wait_function = std::function<int(std::chrono::nanoseconds)>;

    /// `wait` defaults to signals.hpp's wait_for_signal; a test passes its own.
    explicit second_signal(wait_function wait = {});
    /// Stops waiting (within one poll period) and joins.
    ~second_signal();
    second_signal(const second_signal&) = delete;
    second_signal& operator=(const second_signal&) = delete;

    /// Stop-requested once a SIGTERM or SIGINT has arrived: server::shutdown()'s cut_drain.
    std::stop_token arrived() const { return arrived_.get_token(); }

    /// How long each wait lasts: how soon the destructor's stop is noticed.
    static constexpr std::chrono::milliseconds poll_period{100};

private:
    void run(const std::stop_token& stop);

    wait_function wait_;
    std::stop_source arrived_;
    std::jthread thread_;  // last: it uses the members above
};

}  // namespace pier::daemon
