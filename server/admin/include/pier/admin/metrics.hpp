// What /metrics reports, and its rendering in the Prometheus text exposition format (0.0.4).
//
// A snapshot is plain values gathered at scrape time (daemon::server::metrics_snapshot()), so the
// format is tested without sockets and the admin endpoint knows nothing of listeners or workers.
// Names follow Prometheus conventions: pier_ prefix, base units (bytes, seconds), _total for
// counters; process_* are the names every Prometheus client library uses for the same figures.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pier/config/config.hpp"
#include "pier/handlers/proxy/upstream.hpp"
#include "pier/net/listener_stats.hpp"
#include "pier/runtime/scheduler.hpp"

namespace pier::admin {

struct listener_snapshot {
    std::string name;
    config::handler_kind handler = config::handler_kind::echo;
    std::uint64_t active = 0;
    std::uint64_t accepted = 0;
    /// Connections turned away at accept, by the cap that was full (net::reject_reason).
    std::array<std::uint64_t, net::reject_reason_count> rejected_by{};
    std::uint64_t accept_errors = 0;
    std::uint64_t proxy_header_errors = 0;   ///< accept_proxy: no valid PROXY header
    std::uint64_t tls_handshakes = 0;        ///< TLS: handshakes completed
    std::uint64_t tls_handshake_errors = 0;  ///< TLS: refused (bad ClientHello, no common cipher)
    std::uint64_t tls_handshakes_abandoned = 0;  ///< TLS: the client left or was cut before the end
    /// TLS listeners only: when the certificate new handshakes get expires (notAfter, seconds
    /// since the epoch).
    std::optional<long long> certificate_expiry;
    /// Connections ended, by reason (net::stop_reason; none: the peer closed).
    std::array<std::uint64_t, net::stop_reason_count> closed_by{};
    net::traffic_totals traffic;  ///< closed connections' plus live ones'
    /// Proxy listeners only: each upstream, and the clients closed without a relay.
    bool proxy = false;
    std::vector<handlers::proxy::upstream_snapshot> upstreams;
    std::uint64_t proxy_no_upstream = 0;
    std::uint64_t proxy_connect_failed = 0;
};

struct worker_snapshot {
    std::size_t live_connections = 0;
    /// The work-stealing scheduler's counters; absent when the scheduler is pinned.
    std::optional<runtime::worker_metrics> scheduler_metrics;
};

/// Figures about the pierd process itself, read from /proc/self.
struct process_snapshot {
    double cpu_seconds = 0;
    std::uint64_t resident_bytes = 0;
    std::uint64_t open_fds = 0;
    std::uint64_t max_fds = 0;
    double start_time_seconds = 0;  ///< since the Unix epoch
};

/// Config reloads since start (SIGHUP).
struct reload_snapshot {
    std::uint64_t succeeded = 0;
    std::uint64_t failed = 0;
    bool last_ok = true;
    double last_success_time_seconds = 0;  ///< since the Unix epoch; the start counts as one
    bool restart_pending = false;          ///< a reload left a change that needs a restart
};

struct metrics_snapshot {
    std::string version;
    std::string scheduler;
    bool ready = false;
    reload_snapshot reload;
    std::vector<listener_snapshot> listeners;
    std::vector<worker_snapshot> workers;
    process_snapshot process;
};

/// The snapshot as a Prometheus text exposition (Content-Type text/plain; version=0.0.4).
std::string format_prometheus(const metrics_snapshot& snapshot);

/// Reads this process's CPU time, RSS, descriptors and start time from /proc/self; a figure
/// that cannot be read stays 0.
process_snapshot read_process_snapshot();

}  // namespace pier::admin
