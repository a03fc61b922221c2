#include "pier/handlers/proxy/upstream.hpp"

#include <algorithm>

namespace pier::handlers::proxy {

bool is_local_failure(const boost::system::error_code& ec) {
    namespace asio = boost::asio;
    return ec == asio::error::no_descriptors ||
           ec == boost::system::errc::too_many_files_open_in_system ||
           ec == boost::system::errc::address_not_available ||  // ephemeral ports exhausted
           ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

upstream::upstream(const config::listen_address& address)
    : address_(address), endpoint_(boost::asio::ip::make_address(address.host), address.port) {}

bool upstream::available(clock::time_point now) const {
    std::lock_guard lock(health_mutex_);
    return now >= ejected_until_ && !down_by_checks_;
}

void upstream::connect_succeeded(clock::duration latency) {
    {
        std::lock_guard lock(health_mutex_);
        failures_in_a_row_ = 0;
        ejections_in_a_row_ = 0;
        ejected_until_ = {};
    }
    connects_.fetch_add(1, std::memory_order_relaxed);
    const double seconds = std::chrono::duration<double>(latency).count();
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(connect_buckets.begin(), connect_buckets.end(), seconds) -
        connect_buckets.begin());
    latency_counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    latency_sum_ns_.fetch_add(static_cast<std::uint64_t>(std::chrono::nanoseconds(latency).count()),
                              std::memory_order_relaxed);
}

std::optional<clock::duration> upstream::connect_failed(clock::time_point now, unsigned max_fails,
                                                        clock::duration fail_timeout) {
    connect_failures_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(health_mutex_);
    ++failures_in_a_row_;
    // Already ejected: a connect begun before the ejection failing now says nothing new.
    if (now < ejected_until_) return std::nullopt;
    if (max_fails == 0 || failures_in_a_row_ < max_fails) return std::nullopt;
    // Ejected: for fail_timeout, then twice as long each time the trial connect after an
    // ejection fails too (nginx's fail_timeout, with Envoy's growing ejection time).
    constexpr unsigned max_doublings = 5;  // 32x
    const unsigned doublings = std::min(ejections_in_a_row_, max_doublings);
    const auto ejected_for = fail_timeout * (1u << doublings);
    ejected_until_ = now + ejected_for;
    ++ejections_in_a_row_;
    ejections_.fetch_add(1, std::memory_order_relaxed);
    return ejected_for;
}

upstream::check_change upstream::check_passed(unsigned rise) {
    health_checks_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(health_mutex_);
    checked_ = true;
    failures_in_a_row_ = 0;
    ejections_in_a_row_ = 0;
    ejected_until_ = {};
    if (!down_by_checks_) {
        checks_in_a_row_ = 0;  // the failure streak ends
        return check_change::none;
    }
    if (++checks_in_a_row_ < rise) return check_change::none;
    down_by_checks_ = false;
    checks_in_a_row_ = 0;
    return check_change::went_up;
}

upstream::check_change upstream::check_failed(unsigned fall) {
    health_checks_.fetch_add(1, std::memory_order_relaxed);
    health_check_failures_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(health_mutex_);
    const bool first = !checked_;
    checked_ = true;
    if (down_by_checks_) {
        checks_in_a_row_ = 0;  // the rise streak ends
        return check_change::none;
    }
    if (++checks_in_a_row_ < fall && !first) return check_change::none;
    down_by_checks_ = true;
    checks_in_a_row_ = 0;
    return check_change::went_down;
}

void upstream::forget_checks() {
    std::lock_guard lock(health_mutex_);
    down_by_checks_ = false;
    checked_ = false;
    checks_in_a_row_ = 0;
}

upstream_snapshot upstream::snapshot(clock::time_point now) const {
    upstream_snapshot s;
    s.address = address_.to_string();
    s.available = available(now);
    const auto load = [](const std::atomic<std::uint64_t>& c) {
        return c.load(std::memory_order_relaxed);
    };
    s.active = load(active_);
    s.connects = load(connects_);
    s.connect_failures = load(connect_failures_);
    s.ejections = load(ejections_);
    s.health_checks = load(health_checks_);
    s.health_check_failures = load(health_check_failures_);
    s.bytes_sent = load(bytes_sent_);
    s.bytes_received = load(bytes_received_);
    for (std::size_t i = 0; i < latency_counts_.size(); ++i) {
        s.connect_latency_counts[i] = load(latency_counts_[i]);
    }
    s.connect_latency_sum_seconds = static_cast<double>(load(latency_sum_ns_)) / 1e9;
    return s;
}

}  // namespace pier::handlers::proxy
