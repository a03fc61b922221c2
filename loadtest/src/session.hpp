// One pierload connection slot: connects, runs the mode's exchange loop, reconnects after a
// failure (with backoff), until the run stops. Private to the runner.
//
// Threads: a session lives on one client thread's io_context and touches only that thread's
// interval_stats; the atomics of run_context are shared by all threads.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "pierload/options.hpp"
#include "pierload/stats.hpp"

namespace pierload::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

/// What every session of every thread shares.
struct run_context {
    run_context(const options& o, tcp::endpoint t) : opts(o), target(std::move(t)) {}

    const options& opts;
    tcp::endpoint target;
    std::vector<asio::ip::address> sources;  ///< --source-ips, empty when not given
    steady::time_point start;                ///< ramp-up and open-loop schedules count from it
    std::atomic<bool> stopping{false};
    /// Requests not yet sent under --requests. ordering: relaxed; only the count matters.
    std::atomic<std::int64_t> budget{INT64_MAX};
    std::atomic<std::size_t> open_connections{0};
    std::atomic<std::size_t> peak_connections{0};
};

/// What the sessions of one thread share: where they record.
struct thread_context {
    explicit thread_context(run_context& r) : run(r) {}

    run_context& run;
    /// The current interval; the driver swaps it (on this thread) once a second.
    std::unique_ptr<interval_stats> current = std::make_unique<interval_stats>();
};

/// Runs slot number `slot` (0-based across all threads) until the run stops.
asio::awaitable<void> run_session(thread_context& ctx, std::size_t slot);

/// How an I/O error is counted.
error_kind classify(const boost::system::error_code& ec);

}  // namespace pierload::detail
