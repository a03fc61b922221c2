#include "pier/net/listener.hpp"

#include <atomic>
#include <cstdlib>
#include <exception>
#include <future>

#include <fmt/ostream.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pier/config/units.hpp"
#include "pier/net/proxy_header_reader.hpp"
#include "pier/net/tls_handshake.hpp"
#include "pier/net/tls_session.hpp"

namespace pier::net {
namespace {

using namespace std::chrono_literals;

/// Connection ids are unique per process, across listeners, for log correlation.
std::atomic<std::uint64_t> next_connection_id{1};

/// Listeners' accept loops are spread over the workers round robin.
std::atomic<std::size_t> next_listener_home{0};

/// Accept failures that mean "no resources right now": retrying at once would spin.
bool is_resource_exhaustion(const boost::system::error_code& ec) {
    return ec == asio::error::no_descriptors ||
           ec == boost::system::errc::too_many_files_open_in_system ||
           ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

// Backoff after a failed accept: 10ms first so a transient spike costs little, doubling to 1s
// so a lasting EMFILE costs one wake-up a second, not a busy loop.
constexpr auto min_accept_backoff = 10ms;
constexpr auto max_accept_backoff = 1s;

/// Connections accepted per wake-up of the accept loop (HAProxy's tune.maxaccept default).
/// One per wake-up is not enough: each async_accept waits behind every handler queued on the
/// worker, so under load a burst of clients waits seconds in the kernel's queue (measured:
/// 10,000 clients connecting to a busy pierd saw 3-9 s first-request latencies). A bound, so
/// a connection flood cannot starve the connections already served.
constexpr unsigned max_accept_batch = 64;

}  // namespace

listener::listener(const config::listener_config& cfg, runtime::io_pool& pool,
                   std::shared_ptr<const handler> handler,
                   std::shared_ptr<const tls::server_context> tls, connection_cap* global_cap,
                   int adopted_fd)
    : name_(cfg.name),
      handler_kind_(cfg.handler),
      published_handler_(std::move(handler)),
      published_tls_(std::move(tls)),
      config_(cfg),
      pool_(pool),
      handler_(published_handler_),
      tls_(published_tls_),
      home_(pool.acquire_uncounted(next_listener_home.fetch_add(1, std::memory_order_relaxed))),
      strand_(home_.io_executor()),
      acceptor_(home_.io_executor()),
      backoff_timer_(home_.io_executor()),
      admission_(cfg.name, stats_, global_cap, cfg.max_connections_per_ip),
      sweep_(cfg.name, home_.io_executor(), config_, handler_, connections_) {
    if (adopted_fd >= 0) {
        // Socket activation: systemd bound and listens already; take it as it is.
        adopt_listening_socket(acceptor_, adopted_fd, cfg.listen, who());
        adopted_ = true;
    } else {
        open_listening_socket(acceptor_, cfg.listen, {.backlog = static_cast<int>(cfg.backlog)},
                              who());
    }
    boost::system::error_code ec;
    local_ = acceptor_.local_endpoint(ec);
    if (ec) {
        throw bind_error(fmt::format("{}: cannot read the bound address of {}: {}", who(),
                                     cfg.listen.to_string(), ec.message()));
    }
}

std::string listener::who() const { return fmt::format("listener \"{}\"", name_); }

tcp::acceptor listener::bind_replacement(const config::listener_config& cfg) {
    tcp::acceptor acceptor(home_.io_executor());
    open_listening_socket(acceptor, cfg.listen, {.backlog = static_cast<int>(cfg.backlog)}, who());
    return acceptor;
}

void listener::use_tls(std::shared_ptr<const tls::server_context> tls) {
    {
        std::lock_guard lock(published_mutex_);
        published_tls_ = tls;
    }
    asio::post(strand_, [this, tls = std::move(tls)]() mutable { tls_ = std::move(tls); });
}

void listener::reconfigure(const config::listener_config& cfg,
                           std::shared_ptr<const handler> next_handler,
                           std::optional<tcp::acceptor> replacement) {
    {
        std::lock_guard lock(published_mutex_);
        handler_kind_ = cfg.handler;
        published_handler_ = next_handler;
    }
    std::promise<void> applied;
    asio::post(strand_, [&] {
        const bool backlog_changed = cfg.backlog != config_.backlog;
        config_ = cfg;
        // On this strand, in one step: the old handler's background work (the proxy's health
        // checks) reports nothing after the new one's starts.
        handler_->stop_background();
        handler_ = std::move(next_handler);
        handler_->start_background(strand_);
        admission_.set_per_address_limit(cfg.max_connections_per_ip);
        boost::system::error_code ec;
        if (replacement) {
            // Clients waiting on the old socket have completed their handshake: admit them
            // rather than reset them. The accept loop's pending accept on the old socket ends
            // with operation_aborted and resumes on the new one.
            accept_backlog();
            acceptor_.close(ec);
            acceptor_ = std::move(*replacement);
            local_ = acceptor_.local_endpoint(ec);
        } else if (backlog_changed && !adopted_) {
            // listen(2) again on a listening socket sets its queue length (Linux).
            acceptor_.listen(static_cast<int>(cfg.backlog), ec);
            if (ec) {
                spdlog::warn("backlog not changed listener={} error=\"{}\"", name_, ec.message());
            }
        }
        sweep_.wake();  // the sweep re-reads its interval
        applied.set_value();
    });
    applied.get_future().wait();
}

std::future<void> listener::sweep_now() {
    auto swept = std::make_shared<std::promise<void>>();
    auto future = swept->get_future();
    asio::post(strand_, [this, swept] { sweep_.wake([swept] { swept->set_value(); }); });
    return future;
}

listener::~listener() {
    // start() may have run without stop_accepting() (e.g. a later listener failed to bind).
    stop_accepting();
}

void listener::start() {
    {
        std::lock_guard lock(loops_mutex_);
        loops_running_ = 2;
    }
    const auto done = [this](std::exception_ptr error) {
        if (error) {
            // The loops catch every expected failure; an exception here is a broken invariant
            // (or out of memory). A listener that silently stopped accepting would look
            // healthy forever: fail fast so the supervisor restarts the daemon.
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                spdlog::critical("listener loop failed listener={} error=\"{}\"", name_, e.what());
            }
            std::abort();
        }
        on_loop_done();
    };
    asio::co_spawn(strand_, accept_loop(), done);
    asio::co_spawn(strand_, sweep_.run(), done);
    asio::post(strand_, [this] { handler_->start_background(strand_); });
    spdlog::info("listening listener={} addr={} handler={} max_connections={}{}", name_,
                 fmt::streamed(local_), config::to_string(config_.handler), config_.max_connections,
                 adopted_ ? " socket=inherited" : "");
}

void listener::accept_backlog() {
    // Clients in the kernel's accept queue have completed their handshake and may have sent
    // bytes already; closing the acceptor would reset them. Admit them instead, so the drain
    // that follows treats them like every other connection.
    boost::system::error_code ec;
    std::size_t admitted = 0;
    // At most one backlog's worth: a flood of new clients must not keep shutdown in step 1.
    for (unsigned taken = 0; !ec && taken < config_.backlog; ++taken) {
        auto lease = pool_.acquire();
        stream_socket socket(lease.io_executor());
        acceptor_.accept(socket, ec);
        if (!ec) {
            admit(std::move(socket), std::move(lease));
            ++admitted;
        }
    }
    if (admitted > 0) {
        spdlog::info("admitted accept backlog listener={} connections={}", name_, admitted);
    }
}

void listener::on_loop_done() {
    std::lock_guard lock(loops_mutex_);
    if (--loops_running_ == 0) loops_done_.notify_all();
}

void listener::stop_accepting() {
    {
        std::lock_guard lock(loops_mutex_);
        if (loops_running_ == 0) return;
    }
    // The acceptor and timers belong to the accept loop's strand: touch them only there.
    asio::post(strand_, [this] {
        stopping_ = true;
        accept_backlog();
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        backoff_timer_.cancel();
        sweep_.stop();
        // No new connection will be served: the handler's background work is over too (no
        // new connection will pick an upstream the proxy's health checks report on).
        handler_->stop_background();
    });
    std::unique_lock lock(loops_mutex_);
    loops_done_.wait(lock, [this] { return loops_running_ == 0; });
    spdlog::info("stopped accepting listener={}", name_);
}

asio::awaitable<void> listener::accept_loop() {
    std::chrono::nanoseconds backoff = min_accept_backoff;
    while (!stopping_) {
        auto lease = pool_.acquire();
        auto [ec, socket] = co_await acceptor_.async_accept(lease.io_executor(),
                                                            asio::as_tuple(asio::use_awaitable));
        if (!ec) {
            // Even when stopping: this client's handshake is done, so it is drained, not reset.
            backoff = min_accept_backoff;
            admit(std::move(socket), std::move(lease));
            accept_ready();
            continue;
        }
        if (stopping_) break;
        // Only closing the acceptor aborts an accept: reconfigure() swapped in a new one.
        if (ec == asio::error::operation_aborted) continue;
        stats_.accept_errors.fetch_add(1, std::memory_order_relaxed);
        if (ec == asio::error::connection_aborted) continue;  // the client left first
        if (const auto n = accept_error_log_.allow()) {
            spdlog::warn("accept failed listener={} error=\"{}\" backoff={}ms occurrences={}",
                         name_, ec.message(),
                         std::chrono::duration_cast<std::chrono::milliseconds>(backoff).count(), n);
        }
        backoff_timer_.expires_after(backoff);
        co_await backoff_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        if (is_resource_exhaustion(ec)) {
            backoff = std::min<std::chrono::nanoseconds>(backoff * 2, max_accept_backoff);
        }
    }
}

void listener::accept_ready() {
    // The acceptor is non-blocking: these accepts take only connections already waiting.
    for (unsigned taken = 1; taken < max_accept_batch && !stopping_; ++taken) {
        auto lease = pool_.acquire();
        stream_socket socket(lease.io_executor());
        boost::system::error_code ec;
        acceptor_.accept(socket, ec);
        // Nothing waiting, or a failure the next async_accept reports and backs off from.
        if (ec) return;
        admit(std::move(socket), std::move(lease));
    }
}

void listener::admit(stream_socket socket, runtime::worker_lease lease) {
    if (!admission_.has_room(config_.max_connections)) {
        boost::system::error_code ignored;
        socket.close(ignored);
        return;
    }
    start_connection(std::move(socket), std::move(lease));
}

asio::awaitable<bool> listener::read_proxy_header_and_admit(connection_ptr conn) {
    auto read = co_await read_proxy_header(*conn);
    if (read.state == proxy_header_read::status::invalid) {
        stats_.proxy_header_errors.fetch_add(1, std::memory_order_relaxed);
        if (const auto n = proxy_header_log_.allow()) {
            spdlog::warn(
                "closing connection without a valid PROXY header listener={} peer={} "
                "error=\"{}\" occurrences={}",
                name_, fmt::streamed(conn->remote_endpoint()), read.error, n);
        }
    }
    if (read.state != proxy_header_read::status::ok) co_return false;
    if (!read.header.local) conn->set_remote_endpoint(read.header.source);
    spdlog::debug("proxy header conn={} client={}", conn->id(),
                  fmt::streamed(conn->remote_endpoint()));
    // The cap counts the client behind the proxy, not the proxy.
    co_return admission_.take_address_slot(*conn);
}

void listener::start_handler(const handler& handler, const serve_done& done) {
    try {
        handler.start(done);
    } catch (const std::exception& e) {
        spdlog::error("connection failed to start conn={} error=\"{}\"", done.conn().id(),
                      e.what());
        done(nullptr);
    }
}

void listener::start_connection(stream_socket socket, runtime::worker_lease lease) {
    boost::system::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    // Handlers read what is already there without waiting; waiting is wait_readable()'s job.
    socket.non_blocking(true, ec);
    if (ec) {
        // The socket is unusable (the peer may have reset it already): not worth a task.
        stats_.accept_errors.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const auto id = next_connection_id.fetch_add(1, std::memory_order_relaxed);
    auto conn = connection::make(id, std::move(socket), std::move(lease));
    const bool behind_proxy = config_.accept_proxy;  // the client's address comes later
    if (!admission_.take_slots(*conn, behind_proxy)) {
        conn->stream().close();
        return;
    }
    stats_.accepted.fetch_add(1, std::memory_order_relaxed);
    stats_.active.fetch_add(1, std::memory_order_relaxed);
    connections_.add(*conn);
    spdlog::debug("connection opened conn={} listener={} peer={}", id, name_,
                  fmt::streamed(conn->remote_endpoint()));

    // Spawned from the connection's own executor, like everything else that touches it. A stop
    // posted before this runs is not lost: the handler sees it through stop_requested(). The
    // handler and the TLS context are the ones current now: a reload may swap them before
    // this runs.
    asio::post(conn->executor(), [this, conn, behind_proxy, handler = handler_, tls = tls_] {
        serve_done done(*this, conn);
        if (!behind_proxy && !tls) {
            start_handler(*handler, done);
            return;
        }
        try {
            asio::co_spawn(conn->executor(), prepare(conn, behind_proxy, tls),
                           [done, handler](std::exception_ptr error, bool ready) {
                               if (error || !ready) {
                                   done(error);
                               } else {
                                   start_handler(*handler, done);
                               }
                           });
        } catch (const std::exception& e) {
            spdlog::error("connection failed to start conn={} error=\"{}\"", conn->id(), e.what());
            done(nullptr);
        }
    });
}

asio::awaitable<bool> listener::prepare(connection_ptr conn, bool behind_proxy,
                                        std::shared_ptr<const tls::server_context> tls) {
    if (behind_proxy && !co_await read_proxy_header_and_admit(conn)) co_return false;
    if (!tls) co_return true;
    auto session = tls_session::accept(*tls, conn->stream().tcp_socket().native_handle());
    if (!session) {
        spdlog::error("no memory for a TLS session conn={} listener={}", conn->id(), name_);
        co_return false;
    }
    conn->stream().start_tls(std::move(session));
    co_return co_await handshake(*conn);
}

asio::awaitable<bool> listener::handshake(connection& conn) {
    const auto shaken = co_await shake_hands(conn);
    switch (shaken.result) {
        case handshake_result::outcome::done:
            stats_.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
            spdlog::debug("tls handshake done conn={} version={} alpn={}", conn.id(),
                          conn.stream().tls()->version(), conn.stream().tls()->alpn());
            co_return true;
        case handshake_result::outcome::failed:
            stats_.tls_handshake_errors.fetch_add(1, std::memory_order_relaxed);
            if (const auto n = handshake_error_log_.allow()) {
                spdlog::warn("tls handshake failed listener={} peer={} error=\"{}\" occurrences={}",
                             name_, fmt::streamed(conn.remote_endpoint()), shaken.error.message(),
                             n);
            }
            co_return false;
        case handshake_result::outcome::abandoned:
            stats_.tls_handshakes_abandoned.fetch_add(1, std::memory_order_relaxed);
            co_return false;
    }
    co_return false;
}

void listener::finish_connection(connection& conn, std::exception_ptr error) {
    if (error) {
        try {
            std::rethrow_exception(error);
        } catch (const boost::system::system_error& e) {
            // An aborted operation is how idle and shutdown stops end a handler.
            if (e.code() != asio::error::operation_aborted) {
                spdlog::error("connection failed conn={} error=\"{}\"", conn.id(), e.what());
            }
        } catch (const std::exception& e) {
            spdlog::error("connection failed conn={} error=\"{}\"", conn.id(), e.what());
        }
    }
    // Counted before the close, so whoever sees the close also sees the counts.
    const auto reason = conn.stop_requested();
    stats_.closed_by[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
    stats_.closed.fetch_add(1, std::memory_order_relaxed);
    stats_.active.fetch_sub(1, std::memory_order_relaxed);
    spdlog::debug("connection closed conn={} listener={} reason={} bytes_in={} bytes_out={}",
                  conn.id(), name_, to_string(reason), conn.bytes_in(), conn.bytes_out());
    // Slots back before the close too: a client that sees its close may reconnect at once.
    admission_.give_back(conn);
    conn.stream().close();
    // Last: once the set is empty, shutdown may tear the listener down. The caller's
    // connection_ptr keeps `conn` alive until it returns.
    connections_.remove(conn);
}

}  // namespace pier::net
