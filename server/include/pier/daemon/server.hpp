// The running daemon: the worker pool and every configured listener.
//
// Shutdown protocol (shutdown()), in order:
//   1. Stop accepting: close every acceptor and wait for the accept loops and idle sweeps.
//   2. Drain: ask every connection to finish what it has already received (handlers echo it
//      back, then close); connections accepted meanwhile are asked too.
//   3. Wait until every connection has ended or `shutdown.drain_timeout` has passed.
//   4. Cancel what is left (stop_reason::shutdown aborts pending operations) and wait for those
//      tasks to end; they end promptly since nothing they await can complete any more.
//   5. Stop the workers: each io_context runs out of work and its thread is joined.
// Each step is logged at info. /readyz answers 503 from step 1 on; the admin endpoint itself
// stops after step 4, so probes and scrapes see the whole drain.
//
// Threads: construct, start() and shutdown() from one controlling thread (main, or a test),
// never from a worker: shutdown() blocks.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "pier/admin/admin_server.hpp"
#include "pier/admin/metrics.hpp"
#include "pier/config/config.hpp"
#include "pier/net/listener.hpp"
#include "pier/runtime/io_pool.hpp"

namespace pier::daemon {

class server {
public:
    /// Creates the pool and binds every listener; throws net::bind_error naming the first
    /// listener that cannot bind. Nothing runs until start().
    explicit server(config::config cfg);
    /// Runs shutdown() if it has not run.
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Starts the workers, then every listener's accept loop.
    void start();

    /// The graceful shutdown protocol above. Idempotent.
    void shutdown();

    const config::config& configuration() const { return config_; }
    std::vector<std::unique_ptr<net::listener>>& listeners() { return listeners_; }
    /// The listener named `name`; throws std::out_of_range if there is none.
    net::listener& listener(std::string_view name);
    runtime::io_pool& pool() { return pool_; }
    /// The admin endpoint, or null when the config has no `admin:` section.
    admin::admin_server* admin() { return admin_.get(); }

    /// Listeners are bound and accepting, and no shutdown has begun. Any thread.
    bool ready() const { return ready_.load(std::memory_order_acquire); }
    /// Every figure /metrics reports, read now. Any thread.
    admin::metrics_snapshot metrics_snapshot();

private:
    void log_dispatcher_totals();
    std::size_t open_connections();

    const config::config config_;
    // Declared before the listeners: their sockets need the pool's io_contexts to outlive them.
    runtime::io_pool pool_;
    /// limits.max_connections, shared by the listeners (declared before them).
    net::connection_cap global_cap_;
    std::vector<std::unique_ptr<net::listener>> listeners_;
    std::unique_ptr<admin::admin_server> admin_;
    std::atomic<bool> ready_{false};
    bool started_ = false;
    bool stopped_ = false;
};

/// runtime.threads resolved: the configured count, or one per hardware thread for "auto".
std::size_t worker_count(const config::runtime_config& cfg);

}  // namespace pier::daemon
