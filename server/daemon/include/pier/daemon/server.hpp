// The running daemon: the worker pool and every configured listener.
//
// Shutdown protocol (shutdown()), in order:
//   1. Stop accepting: close every acceptor and wait for the accept loops and idle sweeps.
//   2. Drain: ask every connection to finish what it has already received (handlers echo it
//      back, then close); connections accepted meanwhile are asked too.
//   3. Wait until every connection has ended or `shutdown.drain_timeout` has passed, or until
//      the drain is cut short (a second SIGTERM: second_signal.hpp).
//   4. Cancel what is left (stop_reason::drain_timeout aborts pending operations) and wait for
//   those
//      tasks to end; they end promptly since nothing they await can complete any more.
//   5. Stop the workers: each io_context runs out of work and its thread is joined.
// Each step is logged at info. /readyz answers 503 from step 1 on; the admin endpoint itself
// stops after step 4, so probes and scrapes see the whole drain.
//
// Reload protocol (reload()), in order:
//   1. Compare the running config with the new one (config_diff.hpp).
//   2. Bind every socket the new config needs (added listeners, changed addresses). If one
//      fails, close what was bound and change nothing: the reload failed.
//   3. Apply: limits; changed listeners reconfigured in place (their connections stay);
//      added listeners started; removed listeners stop accepting and drain their connections
//      in the background, bounded by shutdown.drain_timeout, then are cancelled and reaped.
// What only a restart can change (runtime.*, admin.*) keeps its running value and is reported.
//
// Threads: construct, start(), reload() and shutdown() from one controlling thread (main, or a
// test), never from a worker: they block.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "pier/admin/admin_server.hpp"
#include "pier/admin/metrics.hpp"
#include "pier/config/config.hpp"
#include "pier/daemon/config_diff.hpp"
#include "pier/daemon/memory_give_back.hpp"
#include "pier/daemon/tls_contexts.hpp"
#include "pier/net/listener.hpp"
#include "pier/runtime/io_pool.hpp"

namespace pier::daemon {

class server {
public:
    /// Creates the pool and binds every listener; throws net::bind_error naming the first
    /// listener that cannot bind. Nothing runs until start(). `tls`: load_tls_contexts(cfg)
    /// without errors (a TLS listener without its context throws std::invalid_argument).
    explicit server(config::config cfg, tls_contexts tls = {});
    /// Runs shutdown() if it has not run.
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Starts the workers, then every listener's accept loop.
    void start();

    /// The graceful shutdown protocol above. Idempotent. A stop request on `cut_drain` ends
    /// step 3 at once, as if the drain timeout had passed.
    void shutdown(std::stop_token cut_drain = {});

    /// What reload() did.
    struct reload_outcome {
        bool applied = false;
        /// Why nothing was applied (a socket that could not be bound).
        std::vector<std::string> errors;
        /// Changes kept back until a restart ("runtime.threads: 2 -> 4").
        std::vector<std::string> need_restart;
    };
    /// The reload protocol above: applies `next` or, on any error, nothing. Counted in
    /// /metrics either way. Call after start() and before shutdown().
    /// `tls`: load_tls_contexts(next) without errors; every TLS listener's new connections
    /// use its new context, open ones keep theirs.
    reload_outcome reload(config::config next, tls_contexts tls = {});
    /// Counts a reload that failed before reaching reload() (the file did not parse).
    void count_failed_reload();

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
    /// A listener removed by a reload, and the thread that waits out its drain.
    struct retiring_listener {
        std::unique_ptr<net::listener> listener;
        std::atomic<bool> drained{false};
        std::jthread drain;  ///< declared last: joined before the listener is destroyed
    };

    std::unique_ptr<net::listener> make_listener(const config::listener_config& cfg, int fd,
                                                 const tls_contexts& tls);
    /// Stops the listener `name` accepting, moves it to retiring_ and drains its connections
    /// in the background for at most `timeout`, then cancels what is left.
    void retire(const std::string& name, std::chrono::nanoseconds timeout);
    /// Keeps the address and backlog of listeners whose socket systemd passed, in `diff` and
    /// `next`, and lists what they would have changed in `need_restart`.
    void keep_inherited_sockets(config_diff& diff, config::config& next,
                                std::vector<std::string>& need_restart);
    /// Destroys the retiring listeners whose drain has ended.
    void reap_retired();
    void log_scheduler_totals();
    /// Every listener's connections, those of listeners still retiring included.
    std::vector<net::connection_set*> all_connection_sets();
    std::size_t open_connections();
    void record_reload(bool success);

    /// What runs: changed by reload() only, on the controlling thread.
    config::config config_;
    // Declared before the listeners: their sockets need the pool's io_contexts to outlive them.
    runtime::io_pool pool_;
    /// limits.max_connections, shared by the listeners (declared before them).
    net::connection_cap global_cap_;
    /// Guards the two lists against metrics_snapshot() on the admin thread while reload()
    /// changes them; the controlling thread reads them without it.
    std::mutex listeners_mutex_;
    std::vector<std::unique_ptr<net::listener>> listeners_;
    std::vector<std::unique_ptr<retiring_listener>> retiring_;
    std::unique_ptr<admin::admin_server> admin_;
    std::atomic<bool> ready_{false};
    std::atomic<std::uint64_t> reloads_succeeded_{0};
    std::atomic<std::uint64_t> reloads_failed_{0};
    std::atomic<bool> last_reload_ok_{true};
    /// Unix time of the last successful reload (or of the start), in seconds.
    std::atomic<double> last_reload_success_time_{0};
    /// A reload left a change that needs a restart to apply.
    std::atomic<bool> restart_pending_{false};
    bool started_ = false;
    bool stopped_ = false;
    /// Returns memory to the kernel once a burst of connections has ended (from start() on).
    /// Declared last: its thread reads the pool's counts, so it stops before anything goes.
    std::optional<memory_give_back> give_back_;
};

/// runtime.threads resolved: the configured count, or one per hardware thread for "auto".
std::size_t worker_count(const config::runtime_config& cfg);

}  // namespace pier::daemon
