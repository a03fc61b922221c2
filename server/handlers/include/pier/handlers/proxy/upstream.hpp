// One upstream server of a proxy listener: its address, its passive health and its figures.
//
// Shared (shared_ptr) by every connection relaying to it and by the upstream groups that list
// it: a reload that keeps an upstream's address keeps this object, so its health and counters
// carry over and connections opened before the reload still count against it.
//
// Health is passive (connect failures eject it for a while) and, with health_check
// configured, active (probes mark it down and up); it takes connections when neither says no.
//
// Threads: everything is safe from any thread. Counters are relaxed atomics (statistics only);
// the health state is under a mutex, touched once per connect attempt and once per probe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/ip/tcp.hpp>

#include "pier/config/config.hpp"

namespace pier::handlers::proxy {

using clock = std::chrono::steady_clock;

/// Bucket bounds of the connect-latency histogram, in seconds (Prometheus `le` labels).
inline constexpr std::array<double, 12> connect_buckets{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 5.0};

/// What /metrics reports of one upstream.
struct upstream_snapshot {
    std::string address;
    bool available = true;  ///< neither ejected nor down by health checks
    std::uint64_t active = 0;
    std::uint64_t connects = 0;
    std::uint64_t connect_failures = 0;
    std::uint64_t ejections = 0;
    std::uint64_t health_checks = 0;          ///< active probes finished
    std::uint64_t health_check_failures = 0;  ///< of which failed
    std::uint64_t bytes_sent = 0;             ///< to the upstream
    std::uint64_t bytes_received = 0;         ///< from the upstream
    /// Successful connects per bucket (cumulative counts are computed when written).
    std::array<std::uint64_t, connect_buckets.size() + 1> connect_latency_counts{};
    double connect_latency_sum_seconds = 0;
};

/// A connect error that says nothing about the upstream: this host is out of descriptors,
/// ports or memory. Counting it against upstreams would take every healthy one out.
bool is_local_failure(const boost::system::error_code& ec);

class upstream {
public:
    explicit upstream(const config::listen_address& address);
    upstream(const upstream&) = delete;
    upstream& operator=(const upstream&) = delete;

    const boost::asio::ip::tcp::endpoint& endpoint() const { return endpoint_; }
    const config::listen_address& address() const { return address_; }

    /// Not ejected at `now` (an ejection that has run out counts as available: the next
    /// connect is its trial) and not down by health checks.
    bool available(clock::time_point now) const;
    /// Active connections (for least_connections and random_two).
    std::uint64_t active() const { return active_.load(std::memory_order_relaxed); }

    /// A connect succeeded after `latency`: the failure streak ends.
    void connect_succeeded(clock::duration latency);
    /// A connect failed. With `max_fails` consecutive failures (0: never) the upstream is
    /// ejected for `fail_timeout`, doubled for each ejection in a row (at most 32 times).
    /// Returns how long, when this failure ejected it.
    std::optional<clock::duration> connect_failed(clock::time_point now, unsigned max_fails,
                                                  clock::duration fail_timeout);

    /// What a probe's result changed.
    enum class check_change { none, went_down, went_up };
    /// An active probe passed. With `rise` in a row an upstream down by checks is back; any
    /// pass also ends a passive ejection and the failure streak (the upstream answers now:
    /// Envoy's successful_active_health_check_uneject_host).
    check_change check_passed(unsigned rise);
    /// An active probe failed; with `fall` in a row the upstream is down until it rises. The
    /// first probe an upstream ever gets takes it down at once when it fails (HAProxy starts
    /// a server "up, but will fall at the first failure"): a dead upstream is out within one
    /// probe of start-up or of the reload that added it.
    check_change check_failed(unsigned fall);
    /// Health checks were turned off: nothing they said holds any more.
    void forget_checks();

    /// A connection to the upstream, being made or relayed: counts as active while it lives,
    /// so connects in flight count for least_connections and random_two too.
    class lease {
    public:
        explicit lease(std::shared_ptr<upstream> u) : u_(std::move(u)) {
            u_->active_.fetch_add(1, std::memory_order_relaxed);
        }
        ~lease() {
            if (u_) u_->active_.fetch_sub(1, std::memory_order_relaxed);
        }
        lease(lease&& other) noexcept = default;
        lease& operator=(lease&&) = delete;
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;

        upstream& target() const { return *u_; }

    private:
        std::shared_ptr<upstream> u_;
    };

    void count_sent(std::size_t bytes) { bytes_sent_.fetch_add(bytes, std::memory_order_relaxed); }
    void count_received(std::size_t bytes) {
        bytes_received_.fetch_add(bytes, std::memory_order_relaxed);
    }

    upstream_snapshot snapshot(clock::time_point now) const;

private:
    const config::listen_address address_;
    const boost::asio::ip::tcp::endpoint endpoint_;

    mutable std::mutex health_mutex_;
    unsigned failures_in_a_row_ = 0;     ///< guarded by health_mutex_
    unsigned ejections_in_a_row_ = 0;    ///< guarded by health_mutex_
    clock::time_point ejected_until_{};  ///< guarded by health_mutex_
    bool down_by_checks_ = false;        ///< guarded by health_mutex_
    bool checked_ = false;               ///< a probe has reported; guarded by health_mutex_
    unsigned checks_in_a_row_ = 0;       ///< passes while down, failures while up; health_mutex_

    std::atomic<std::uint64_t> active_{0};
    std::atomic<std::uint64_t> connects_{0};
    std::atomic<std::uint64_t> connect_failures_{0};
    std::atomic<std::uint64_t> ejections_{0};
    std::atomic<std::uint64_t> health_checks_{0};
    std::atomic<std::uint64_t> health_check_failures_{0};
    std::atomic<std::uint64_t> bytes_sent_{0};
    std::atomic<std::uint64_t> bytes_received_{0};
    std::array<std::atomic<std::uint64_t>, connect_buckets.size() + 1> latency_counts_{};
    std::atomic<std::uint64_t> latency_sum_ns_{0};
};

}  // namespace pier::handlers::proxy
