#include "pier/net/connection_set.hpp"

#include <algorithm>

namespace pier::net {

connection_set::~connection_set() {
    // Connections unlink themselves before they die; anything still linked would dangle.
    std::lock_guard lock(mutex_);
    connections_.clear();
}

void connection_set::add(connection& c) {
    std::lock_guard lock(mutex_);
    connections_.push_back(c);
    if (draining_) c.request_stop(stop_reason::drain);
}

void connection_set::remove(connection& c) {
    std::lock_guard lock(mutex_);
    connections_.erase(connections_.iterator_to(c));
    closed_traffic_ += c.traffic();
    if (connections_.empty()) empty_.notify_all();
}

std::size_t connection_set::size() const {
    std::lock_guard lock(mutex_);
    return connections_.size();
}

traffic_totals connection_set::traffic() const {
    std::lock_guard lock(mutex_);
    traffic_totals sum = closed_traffic_;
    for (const auto& c : connections_) sum += c.traffic();
    return sum;
}

void connection_set::request_stop_all(stop_reason reason) {
    std::lock_guard lock(mutex_);
    if (reason == stop_reason::drain) draining_ = true;
    for (auto& c : connections_) c.request_stop(reason);
}

connection_set::stopped_counts connection_set::stop_inactive(runtime::clock::time_point now,
                                                             const timeouts& limits) {
    std::lock_guard lock(mutex_);
    stopped_counts stopped;
    for (auto& c : connections_) {
        const auto quiet = now - c.last_activity();
        auto idle_limit = limits.idle;
        if (const auto own = c.own_idle_timeout();
            own.count() > 0 && (idle_limit.count() == 0 || own < idle_limit)) {
            idle_limit = own;
        }
        const auto request_started = c.request_started();
        if (limits.write.count() > 0 && c.writing() && quiet >= limits.write) {
            c.request_stop(stop_reason::write_timeout);
            ++stopped.stalled;
        } else if (limits.request.count() > 0 && request_started &&
                   now - *request_started >= limits.request) {
            c.stop_slow_request(*request_started);
            ++stopped.slow_request;
        } else if (idle_limit.count() > 0 && quiet >= idle_limit) {
            c.request_stop(stop_reason::idle_timeout);
            ++stopped.idle;
        }
    }
    return stopped;
}

void connection_set::recheck_quiet_relays(runtime::clock::time_point now) {
    std::lock_guard lock(mutex_);
    for (auto& c : connections_) {
        if (c.relaying() && now - c.last_activity() >= relay_recheck_after) c.recheck_sockets();
    }
}

bool connection_set::wait_drained_until(runtime::clock::time_point deadline,
                                        std::stop_token cut_short) {
    constexpr std::chrono::steady_clock::duration recheck_every = std::chrono::milliseconds(250);
    for (;;) {
        // Waits in real time, at most recheck_every at a time: the deadline is on
        // runtime::clock, which a test may move forward meanwhile.
        const auto left = std::max(deadline - runtime::clock::now(), runtime::clock::duration{});
        const auto wait = std::min(recheck_every, left);
        if (wait_empty_until(std::chrono::steady_clock::now() + wait, cut_short)) return true;
        if (runtime::clock::now() >= deadline || cut_short.stop_requested()) return false;
        recheck_quiet_relays(runtime::clock::now());
    }
}

bool connection_set::wait_empty_until(std::chrono::steady_clock::time_point deadline,
                                      std::stop_token cut_short) {
    std::unique_lock lock(mutex_);
    return empty_.wait_until(lock, cut_short, deadline, [this] { return connections_.empty(); });
}

}  // namespace pier::net
