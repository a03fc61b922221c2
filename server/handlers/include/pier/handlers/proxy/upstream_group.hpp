// A proxy listener's upstreams and how the next one is chosen (`balance:`).
//
// Built from the listener's proxy section; a reload builds a new group that takes over the
// upstream objects (and the client counters) of the one it replaces, so health, active counts
// and totals carry over, while connections opened before keep the group they started with.
//
// With health_check configured, the listener that serves the group runs its health checker
// from start_health_checks() to stop_health_checks().
//
// Threads: pick() and the accessors are safe from any thread (one mutex, taken once per
// connect attempt); start_health_checks() and stop_health_checks() on the listener's strand.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "pier/config/config.hpp"
#include "pier/handlers/proxy/health_checker.hpp"
#include "pier/handlers/proxy/upstream.hpp"
#include "pier/log/rate_limiter.hpp"

namespace pier::handlers::proxy {

/// Clients closed without being relayed, by reason. Shared across reloads.
struct client_counters {
    std::atomic<std::uint64_t> no_upstream{0};     ///< every upstream was ejected
    std::atomic<std::uint64_t> connect_failed{0};  ///< every connect tried failed
};

class upstream_group {
public:
    /// `previous` (may be null): the group this one replaces on a reload.
    upstream_group(const config::proxy_config& cfg, const upstream_group* previous);
    upstream_group(const upstream_group&) = delete;
    upstream_group& operator=(const upstream_group&) = delete;

    const config::proxy_config& settings() const { return settings_; }

    /// The upstream for a new connection by the balance policy, among those available at
    /// `now` and not in `tried`; null when there is none.
    std::shared_ptr<upstream> pick(clock::time_point now,
                                   const std::vector<const upstream*>& tried);

    /// With health_check set, probes every upstream from now on (on `strand`); without, clears
    /// what an earlier configuration's checks said (an upstream they took down is back).
    void start_health_checks(const boost::asio::any_io_executor& strand);
    /// Stops the probes start_health_checks() began, if any.
    void stop_health_checks();

    client_counters& counters() { return *counters_; }
    std::vector<upstream_snapshot> snapshot(clock::time_point now) const;

    /// Shared by every connection of the group: one line per interval for the failures a
    /// down upstream causes on every connect.
    log::rate_limiter& failure_log() { return failure_log_; }

private:
    struct member {
        std::shared_ptr<upstream> target;
        unsigned weight = 1;
        std::int64_t current = 0;  ///< smooth weighted round robin state; guarded by mutex_
    };
    using candidates = std::vector<member*>;

    member* pick_round_robin(const candidates& eligible);
    member* pick_least_connections(const candidates& eligible);
    member* pick_random_two(const candidates& eligible);

    const config::proxy_config settings_;
    std::shared_ptr<client_counters> counters_;
    std::mutex mutex_;
    std::vector<member> members_;  ///< the list never changes; `current` is under mutex_
    std::size_t rotation_ = 0;     ///< where least_connections starts looking; under mutex_
    log::rate_limiter failure_log_{std::chrono::seconds(1)};
    std::shared_ptr<health_checker> checker_;  ///< on the listener's strand only
};

}  // namespace pier::handlers::proxy
