// One configured listener: a bound acceptor, its accept loop, and the life of each connection
// it accepts, from admission to close.
//
// Owns the acceptor, the connection_set, the admission caps (admission.hpp) and the timeout
// sweep (timeout_sweep.hpp); connections themselves are owned by their tasks. The accept loop
// and the sweep run on one worker (its lease is uncounted); each accepted socket is homed on
// the worker with the fewest live connections.
//
// A listener is identified by its name. A reload changes the rest in place (reconfigure()):
// settings and handler apply to connections accepted from then on, the timeouts to every
// connection, and a new address swaps the acceptor — the open connections stay, untouched.
//
// Threads: construct, start(), reconfigure(), stop_accepting() and the accessors from the
// owner's thread (the server's); reconfigure() and stop_accepting() block until the accept
// loop's strand has done its part, so never call them on a worker.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "pier/config/config.hpp"
#include "pier/log/rate_limiter.hpp"
#include "pier/net/admission.hpp"
#include "pier/net/connection_caps.hpp"
#include "pier/net/connection_set.hpp"
#include "pier/net/handler.hpp"
#include "pier/net/listener_stats.hpp"
#include "pier/net/listening_socket.hpp"
#include "pier/net/timeout_sweep.hpp"
#include "pier/runtime/io_pool.hpp"
#include "pier/tls/server_context.hpp"

namespace pier::net {

class listener {
public:
    /// Opens, binds and listens at once (SO_REUSEADDR); throws bind_error on failure.
    /// `global_cap` (may be null) is shared by every listener and must outlive this one.
    /// `adopted_fd`, if not -1, is a listening socket systemd passed (socket activation):
    /// it is taken as it is instead of binding cfg.listen.
    /// `tls`: the context its connections' handshakes use (cfg.tls set), or null (TCP).
    listener(const config::listener_config& cfg, runtime::io_pool& pool,
             std::shared_ptr<const handler> handler,
             std::shared_ptr<const tls::server_context> tls = nullptr,
             connection_cap* global_cap = nullptr, int adopted_fd = -1);
    ~listener();
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

    const std::string& name() const { return name_; }
    /// Any thread (a reload may change it meanwhile).
    config::handler_kind handler_kind() const {
        std::lock_guard lock(published_mutex_);
        return handler_kind_;
    }
    /// The handler new connections get. Any thread.
    std::shared_ptr<const handler> current_handler() const {
        std::lock_guard lock(published_mutex_);
        return published_handler_;
    }
    /// The TLS context new connections get (null: TCP). Any thread.
    std::shared_ptr<const tls::server_context> current_tls() const {
        std::lock_guard lock(published_mutex_);
        return published_tls_;
    }
    /// The bound address; with port 0 in the config, the port the kernel chose.
    tcp::endpoint local_endpoint() const { return local_; }
    /// The socket came from systemd (socket activation), so its address is not ours to change.
    bool adopted() const { return adopted_; }

    /// Starts the accept loop and the timeout sweep.
    void start();

    /// Binds a socket for `cfg.listen` on this listener's worker, for reconfigure() to swap
    /// in; throws bind_error. Nothing changes for the listener until it is swapped in.
    tcp::acceptor bind_replacement(const config::listener_config& cfg);

    /// Applies a reloaded `cfg` (same name): limits, timeouts, backlog and `handler` from the
    /// next accepted connection on, timeouts for open connections too. With `replacement`,
    /// the clients already waiting on the old socket are admitted, then it is closed and
    /// `replacement` accepts from now on. Blocks until applied.
    void reconfigure(const config::listener_config& cfg, std::shared_ptr<const handler> handler,
                     std::optional<tcp::acceptor> replacement = std::nullopt);
    /// New connections shake hands with `tls` from now on (a reload re-read the certificates,
    /// or turned TLS on or off); open connections keep the session they have. Null: TCP.
    void use_tls(std::shared_ptr<const tls::server_context> tls);
    /// Runs the timeout sweep now; the future is ready once it has asked every connection
    /// past a timeout to stop. For tests that move runtime::clock forward instead of waiting.
    std::future<void> sweep_now();

    /// Closes the acceptor and waits for the accept loop and the sweep to return. Open
    /// connections are untouched: ask them to stop through connections().
    void stop_accepting();

    connection_set& connections() { return connections_; }
    const listener_stats& stats() const { return stats_; }

private:
    /// `listener "<name>"`, as bind errors name it.
    std::string who() const;
    asio::awaitable<void> accept_loop();
    /// Starts the connection's task, or closes it at once when a connection cap is reached.
    void admit(stream_socket socket, runtime::worker_lease lease);
    void start_connection(stream_socket socket, runtime::worker_lease lease);
    /// accept_proxy: reads the PROXY header (the peer becomes the client it names) and takes
    /// the per-address slot for that client. True when the handler may start.
    asio::awaitable<bool> read_proxy_header_and_admit(connection_ptr conn);
    /// Before the handler, for a listener with a PROXY header to read or TLS to set up (in
    /// that order: the header travels in the clear). True when the handler may start.
    asio::awaitable<bool> prepare(connection_ptr conn, bool behind_proxy,
                                  std::shared_ptr<const tls::server_context> tls);
    /// The TLS handshake (tls_handshake.hpp), counted and logged. True once it is done.
    asio::awaitable<bool> handshake(connection& conn);
    /// Starts `handler` on the connection (on its executor); an exception from start() ends it.
    static void start_handler(const handler& handler, const serve_done& done);
    friend class serve_done;  // the only caller of finish_connection() besides the listener
    /// The end of a connection's task: counts, logs, closes and unlinks it.
    void finish_connection(connection& conn, std::exception_ptr error);
    /// After an accept: admits more connections already waiting, up to max_accept_batch.
    void accept_ready();
    /// Admits every connection already waiting in the kernel's accept queue (at stop).
    void accept_backlog();
    void on_loop_done();

    const std::string name_;
    /// What other threads may read of what reconfigure() changes.
    mutable std::mutex published_mutex_;
    config::handler_kind handler_kind_;                         ///< guarded
    std::shared_ptr<const handler> published_handler_;          ///< guarded
    std::shared_ptr<const tls::server_context> published_tls_;  ///< guarded
    /// Touched on strand_ only once start() has run (reconfigure() posts its changes there).
    config::listener_config config_;
    runtime::io_pool& pool_;
    /// Shared with the connections being started: a reload may swap it meanwhile. strand_ only.
    std::shared_ptr<const handler> handler_;
    /// The TLS context new connections get, or null. strand_ only, as handler_.
    std::shared_ptr<const tls::server_context> tls_;
    runtime::worker_lease home_;  ///< the worker running the accept loop and the sweep
    /// Serializes the accept loop, the sweep and stop_accepting(): under work stealing an idle
    /// worker may run the home worker's handlers while that worker is stuck in a long task.
    asio::strand<asio::io_context::executor_type> strand_;
    tcp::acceptor acceptor_;
    tcp::endpoint local_;  ///< written by the constructor and reconfigure() only
    asio::steady_timer backoff_timer_;
    connection_set connections_;
    listener_stats stats_;
    admission admission_;
    timeout_sweep sweep_;
    bool adopted_ = false;  ///< the socket came from systemd
    log::rate_limiter accept_error_log_{std::chrono::seconds(1)};
    log::rate_limiter proxy_header_log_{std::chrono::seconds(1)};
    log::rate_limiter handshake_error_log_{std::chrono::seconds(1)};

    bool stopping_ = false;  ///< touched on strand_ only
    std::mutex loops_mutex_;
    std::condition_variable loops_done_;
    int loops_running_ = 0;  ///< guarded by loops_mutex_
};

}  // namespace pier::net
