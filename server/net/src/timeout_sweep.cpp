#include "pier/net/timeout_sweep.hpp"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pier/config/units.hpp"
#include "pier/runtime/clock.hpp"

namespace pier::net {

using namespace std::chrono_literals;

std::chrono::nanoseconds sweep_interval(const config::listener_config& cfg,
                                        const handler& serving) {
    auto shortest = std::chrono::nanoseconds::max();
    // request_timeout matters only where requests are read: a PROXY header, the handler's.
    const bool reads_requests = cfg.accept_proxy || serving.reads_requests();
    const auto request_timeout = reads_requests ? cfg.request_timeout : 0ns;
    for (const auto timeout : {config::effective_idle_timeout(cfg), cfg.write_timeout,
                               request_timeout, config::effective_half_close_timeout(cfg)}) {
        if (timeout.count() > 0) shortest = std::min(shortest, timeout);
    }
    return std::clamp<std::chrono::nanoseconds>(shortest / 4, 10ms, 1s);
}

timeout_sweep::timeout_sweep(std::string listener_name,
                             const boost::asio::any_io_executor& executor,
                             const config::listener_config& settings,
                             const std::shared_ptr<const handler>& serving,
                             connection_set& connections)
    : listener_name_(std::move(listener_name)),
      settings_(settings),
      serving_(serving),
      connections_(connections),
      timer_(executor) {}

boost::asio::awaitable<void> timeout_sweep::run() {
    namespace asio = boost::asio;
    running_ = !stopping_;
    while (!stopping_) {
        // Every listener sweeps, timeouts or not: connections relayed before a reload changed
        // the handler still need the relay recheck.
        timer_.expires_after(sweep_interval(settings_, *serving_));
        co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        if (stopping_) break;
        const auto now = runtime::clock::now();
        connections_.recheck_quiet_relays(now);
        const auto stopped =
            connections_.stop_inactive(now, {.idle = config::effective_idle_timeout(settings_),
                                             .write = settings_.write_timeout,
                                             .request = settings_.request_timeout});
        if (stopped.stalled > 0) {
            if (const auto n = stalled_log_.allow()) {
                spdlog::info(
                    "closing connections whose peer stopped reading listener={} "
                    "write_timeout={} occurrences={}",
                    listener_name_, config::format_duration(settings_.write_timeout), n);
            }
        }
        if (stopped.slow_request > 0) {
            if (const auto n = slow_request_log_.allow()) {
                spdlog::info(
                    "closing connections whose request did not arrive in time listener={} "
                    "request_timeout={} occurrences={}",
                    listener_name_, config::format_duration(settings_.request_timeout), n);
            }
        }
        for (auto& then : std::exchange(after_next_pass_, {})) then();
    }
    running_ = false;
    for (auto& then : std::exchange(after_next_pass_, {})) then();
}

void timeout_sweep::wake(std::function<void()> then) {
    if (then) {
        if (!running_) {
            then();
            return;
        }
        after_next_pass_.push_back(std::move(then));
    }
    timer_.cancel();
}

void timeout_sweep::stop() {
    stopping_ = true;
    timer_.cancel();
}

}  // namespace pier::net
