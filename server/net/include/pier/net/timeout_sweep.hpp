// A listener's timeout sweep: one timer per listener, not one per connection. Every quarter
// of the shortest timeout (10 ms to 1 s), it asks the connections past idle_timeout,
// write_timeout or request_timeout to stop (connection_set::stop_inactive) and rechecks
// relays that have gone quiet (connection_set::recheck_quiet_relays). Closures for a stuck
// writer or a slow request are logged, at most once per 10 s each. Timeouts are measured on
// runtime::clock; the interval between sweeps is real time.
//
// Threads: run() and stop() on the listener's accept strand, which also owns the settings
// and the handler it reads (a reload changes them there, between two sweeps).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "pier/config/config.hpp"
#include "pier/log/rate_limiter.hpp"
#include "pier/net/connection_set.hpp"
#include "pier/net/handler.hpp"

namespace pier::net {

/// How often a listener with `cfg` and `serving` sweeps: often enough that a connection
/// outlives its timeout by at most a quarter of it (and by at most 1 s for long timeouts; at
/// least 10 ms apart for tiny ones), and at least every second, when it also rechecks quiet
/// relays.
std::chrono::nanoseconds sweep_interval(const config::listener_config& cfg, const handler& serving);

class timeout_sweep {
public:
    /// `settings`, `serving` and `connections` are the listener's and must outlive this;
    /// `executor` is its home worker's (the timer's).
    timeout_sweep(std::string listener_name, const boost::asio::any_io_executor& executor,
                  const config::listener_config& settings,
                  const std::shared_ptr<const handler>& serving, connection_set& connections);

    /// Sweeps until stop().
    boost::asio::awaitable<void> run();
    /// Sweeps now and computes the interval again (after a reload changed the timeouts).
    /// `then`, if given, runs once that sweep is done (at once if the sweep is not running).
    void wake(std::function<void()> then = {});
    void stop();

private:
    const std::string listener_name_;
    const config::listener_config& settings_;
    const std::shared_ptr<const handler>& serving_;
    connection_set& connections_;
    boost::asio::steady_timer timer_;
    bool running_ = false;
    bool stopping_ = false;
    std::vector<std::function<void()>> after_next_pass_;
    log::rate_limiter stalled_log_{std::chrono::seconds(10)};
    log::rate_limiter slow_request_log_{std::chrono::seconds(10)};
};

}  // namespace pier::net
