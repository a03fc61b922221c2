// One pierload connection slot: connects, runs the mode's exchange loop, reconnects after a
// failure (with backoff), until the run stops. Private to the runner.
//
// Per-request cost matters here (the client must never be what limits a measurement): a
// request is one write and one read awaited directly in the session's own coroutine, with no
// nested coroutine frames, no per-request timers and no cancellation slots.
//
// Threads: a session lives on one client thread's io_context and touches only that thread's
// interval_stats; the atomics of run_context are shared by all threads.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exchange_common.hpp"
#include "pierload/options.hpp"
#include "pierload/stats.hpp"

namespace pierload::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// Each client thread runs one io_context: naming its executor type (instead of
/// any_io_executor) spares Asio's type erasure on every operation.
using executor = asio::io_context::executor_type;
template <typename T>
using task = asio::awaitable<T, executor>;
using socket_type = asio::basic_stream_socket<tcp, executor>;
using timer_type = asio::basic_waitable_timer<steady, asio::wait_traits<steady>, executor>;

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

/// What the thread's watchdog and stop reach a session through. Sessions are linked into
/// their thread's list while they run; only that thread touches the list.
class session_base : public boost::intrusive::list_base_hook<> {
public:
    virtual ~session_base() = default;
    /// Ends the session at its next resumption: closes its connection, cancels its timer.
    virtual void abort() = 0;
    /// Closes the connection if a request has waited longer than `timeout` for its response
    /// (counted as a timeout; the session reconnects). Returns whether it did.
    virtual bool expire(steady::time_point now, std::chrono::nanoseconds timeout) = 0;
};

/// What the sessions of one thread share: where they record, and the list stop and the
/// watchdog walk.
struct thread_context {
    explicit thread_context(run_context& r) : run(r) {}

    run_context& run;
    /// The current interval; the driver swaps it (on this thread) once a second.
    std::unique_ptr<interval_stats> current = std::make_unique<interval_stats>();
    boost::intrusive::list<session_base> sessions;
    /// What echo messages are cut from (shared by the thread's sessions).
    echo_payloads payloads;
    /// A small echo message assembled in one piece before it is sent.
    std::string send_scratch;
    /// The watchdog's timer, while it runs.
    timer_type* watchdog_timer = nullptr;
};

/// Runs slot number `slot` (0-based across all threads) until the run stops.
task<void> run_session(thread_context& ctx, std::size_t slot);

/// Enforces --timeout for every session of the thread with one timer (not one per request),
/// until the run stops.
task<void> run_watchdog(thread_context& ctx);

/// Ends every session and the watchdog of this thread. Call on the thread, after setting
/// run_context::stopping. Sessions are stopped by closing what they wait on rather than with
/// cancellation slots: a slot bound to a session would make every one of its operations
/// install and remove a cancellation handler, a cost paid per request.
void stop_thread_sessions(thread_context& ctx);

}  // namespace pierload::detail
