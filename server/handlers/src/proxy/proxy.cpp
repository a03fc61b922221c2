#include "pier/handlers/proxy/proxy.hpp"

#include <exception>
#include <optional>
#include <variant>
#include <vector>

#include <fmt/ostream.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "pier/config/units.hpp"
#include "pier/net/edge_reader.hpp"
#include "pier/net/proxy_protocol.hpp"

namespace pier::handlers::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

/// A stop that ends the connection now (a timeout, the drain deadline): not a drain.
bool aborted(const net::connection& conn) {
    const auto reason = conn.stop_requested();
    return reason != net::stop_reason::none && reason != net::stop_reason::drain;
}

/// Links the upstream stream to the connection while it lives, so stops reach it.
class link_guard {
public:
    link_guard(net::connection& conn, net::byte_stream& stream) : conn_(conn) {
        conn_.link(&stream);
    }
    ~link_guard() { conn_.link(nullptr); }
    link_guard(const link_guard&) = delete;
    link_guard& operator=(const link_guard&) = delete;

private:
    net::connection& conn_;
};

/// Connects `stream` to an upstream of `group`: the balance policy's pick, then another for
/// each retry. Returns the lease on the upstream connected to, or nothing (counted, logged).
asio::awaitable<std::optional<upstream::lease>> connect_upstream(net::connection& conn,
                                                                 upstream_group& group,
                                                                 net::byte_stream& stream) {
    const auto& cfg = group.settings();
    auto& socket = stream.tcp_socket();  // (TLS to upstreams would shake hands after connect)
    std::vector<const upstream*> tried;
    asio::steady_timer timer(socket.get_executor());
    bool local_failure = false;
    for (unsigned attempt = 0; attempt <= cfg.retries && !aborted(conn); ++attempt) {
        auto picked = group.pick(clock::now(), tried);
        if (!picked) break;
        tried.push_back(picked.get());
        upstream::lease lease(std::move(picked));  // counted as active from the connect on
        auto& target = lease.target();
        boost::system::error_code ec;
        if (socket.is_open()) socket.close(ec);
        socket.open(target.endpoint().protocol(), ec);
        const auto began = clock::now();
        if (!ec) {
            timer.expires_after(cfg.connect_timeout);
            auto outcome = co_await (
                socket.async_connect(target.endpoint(), asio::as_tuple(asio::use_awaitable)) ||
                timer.async_wait(asio::as_tuple(asio::use_awaitable)));
            ec = outcome.index() == 0 ? std::get<0>(std::get<0>(outcome)) : asio::error::timed_out;
        }
        if (aborted(conn)) co_return std::nullopt;  // our own stop: not the upstream's fault
        if (!ec) {
            target.connect_succeeded(clock::now() - began);
            co_return std::move(lease);
        }
        if (is_local_failure(ec)) {
            local_failure = true;
            if (const auto n = group.failure_log().allow()) {
                spdlog::warn(
                    "proxy: cannot connect to an upstream, local error=\"{}\" "
                    "occurrences={}",
                    ec.message(), n);
            }
            break;
        }
        if (const auto ejected =
                target.connect_failed(clock::now(), cfg.max_fails, cfg.fail_timeout)) {
            spdlog::warn("proxy: upstream ejected upstream={} for={} error=\"{}\"",
                         target.address().to_string(),
                         config::format_duration(
                             std::chrono::duration_cast<std::chrono::nanoseconds>(*ejected)),
                         ec.message());
        } else if (const auto n = group.failure_log().allow()) {
            spdlog::warn("proxy: connect failed upstream={} error=\"{}\" occurrences={}",
                         target.address().to_string(), ec.message(), n);
        }
    }
    if (aborted(conn)) co_return std::nullopt;
    // Closed at once: a client waiting for an upstream that is not there helps nobody.
    const bool none_available = tried.empty() && !local_failure;
    auto& counter = none_available ? group.counters().no_upstream : group.counters().connect_failed;
    counter.fetch_add(1, std::memory_order_relaxed);
    conn.count_handler_error();
    if (const auto n = group.failure_log().allow()) {
        spdlog::warn("proxy: closing client conn={} reason={} tried={} occurrences={}", conn.id(),
                     none_available ? "no_upstream_available" : "connect_failed", tried.size(), n);
    }
    co_return std::nullopt;
}

/// One relayed connection: the client, the upstream, and the two directions between them.
class relay {
public:
    relay(net::connection& conn, net::byte_stream& upstream_stream, upstream& target,
          const config::proxy_config& cfg)
        : conn_(conn),
          upstream_(upstream_stream),
          client_reader_(conn.stream()),
          upstream_reader_(upstream_stream),
          target_(target),
          max_buffer_(static_cast<std::size_t>(cfg.max_buffer)),
          half_close_timeout_(cfg.half_close_timeout) {}

    asio::awaitable<void> run() {
        co_await (pump(conn_.stream(), client_reader_, upstream_, true) &&
                  pump(upstream_, upstream_reader_, conn_.stream(), false));
    }

private:
    /// One direction's hand-over of what it read to the other side: counts the chunk, sends
    /// what the other side takes at once, and keeps a copy of the rest (the only copy the
    /// relay makes: the chunk itself is in the reading thread's scratch buffer, gone once
    /// take() returns). It is the forwarding read's sink, inside the reactor, while the other
    /// direction may run on another thread: it touches only atomics, its own fields and the
    /// other side's send_now(), on a stream that stays open until both directions are over. It
    /// does not see a stop or the other direction's failure: those cancel the read, and a
    /// chunk taken in the meantime is simply delivered.
    struct hand_over {
        relay& owner;
        net::byte_stream& to;  ///< the other side
        const bool from_client;
        std::vector<char> unsent;              ///< what `to` did not take at once
        boost::system::error_code send_error;  ///< of the last chunk; a full window is none
        bool copy_failed = false;              ///< the rest could not be kept (no memory)

        /// `more`: bytes already wait behind this chunk (the read goes on at once), so the
        /// kernel may hold this one to send them together.
        bool take(const char* data, std::size_t size, bool more) noexcept {
            owner.count_read(from_client, size);
            owner.conn_.touch();
            const std::size_t sent = to.send_now(data, size, send_error, more);
            owner.count_written(from_client, sent);
            if (send_error) return false;
            if (sent == size) return true;
            // `to` is slower than `from`: keep the rest, and read nothing more from `from`
            // until it is gone (backpressure through TCP; memory stays at one chunk).
            try {
                unsent.assign(data + sent, data + size);
            } catch (const std::exception&) {  // bad_alloc: the connection ends rather than
                copy_failed = true;            // the daemon (take() must not throw)
            }
            return false;
        }

        net::chunk_sink sink() { return net::sink_to(*this); }
    };

    /// Moves bytes from `from` to `to` until `from` ends (EOF: `to`'s write half is shut),
    /// `from` fails (both directions end), or `to` fails (this direction ends; the other one,
    /// reading from `to`, ends with it, after delivering what it was writing).
    asio::awaitable<void> pump(net::byte_stream& from, net::edge_reader& reader,
                               net::byte_stream& to, bool from_client) {
        // A pending read holds no buffer: each chunk is read, up to max_buffer at a time, into
        // the thread's scratch buffer and handed to `handing`, so an idle relay holds no
        // buffer, and a bulk transfer costs one recv() and one send() per max_buffer. (A read
        // rather than async_wait(): Asio re-arms the descriptor with epoll_ctl(MOD) for every
        // async_wait, while a pending read costs none on the reactor path.) It is a forwarding
        // read: while `to` takes every chunk at once, bytes move inside the reactor and this
        // coroutine sleeps (see edge_reader.hpp).
        hand_over handing{*this, to, from_client, {}, {}, false};
        // Set once the sweep's recheck has ended a parked read (the peer reset or finished
        // while the relay waited): from then on every read tries the socket at once. Never
        // reset: a read_now read bypasses the reactor, which may still believe the socket
        // drained, and such a relay is about to end anyway (its peer is done).
        bool read_now = false;
        for (;;) {
            if (failed_ || aborted(conn_)) co_return;
            handing.send_error.clear();  // what it says afterwards is about this read's chunks
            auto [ec, received] = co_await reader.async_forward_through_scratch(
                max_buffer_, read_now, handing.sink(), asio::as_tuple(asio::use_awaitable));
            if (ec == asio::error::operation_aborted && !failed_ && !aborted(conn_) &&
                !lost(from) &&
                (co_await asio::this_coro::cancellation_state).cancelled() ==
                    asio::cancellation_type::none) {
                read_now = true;  // not a stop, a failure or the other direction's exception
                continue;         // (which cancels this one through &&): the recheck
            }
            if (handing.copy_failed) {
                fail();
                co_return;
            }
            if (ec) {
                end_of_input(to, ec);
                co_return;
            }
            // Otherwise a chunk was handed over: one `to` did not take whole, or the last of a
            // run read without a pause (edge_reader.hpp: more is likely waiting, and the next
            // read tries at once).
            if (!co_await deliver_rest(to, handing)) co_return;
        }
    }

    /// `from` ended with `read_ec`: EOF shuts `to`'s write half (the other direction goes
    /// on), anything else ends both directions.
    void end_of_input(net::byte_stream& to, boost::system::error_code read_ec) {
        if (read_ec != asio::error::eof) {
            fail();
            return;
        }
        boost::system::error_code ignored;
        to.shutdown_send(ignored);  // half-close travels on
        conn_.touch();              // the half-closed time counts from here
        if (half_close_timeout_) conn_.shorten_idle_timeout(*half_close_timeout_);
    }

    /// After `handing` has had a chunk: waits for what `to` did not take at once, then frees
    /// it. False when this direction is over.
    asio::awaitable<bool> deliver_rest(net::byte_stream& to, hand_over& handing) {
        if (handing.send_error) {
            lose(to);
            co_return false;
        }
        if (failed_ || aborted(conn_)) {
            fail();
            co_return false;
        }
        if (handing.unsent.empty()) co_return true;
        const bool delivered = co_await write_rest(to, handing.unsent, handing.from_client);
        handing.unsent = std::vector<char>();  // not clear(): an idle relay holds no buffer
        co_return delivered;
    }

    /// `to` is slower than `from`: waits for `pending` to go, reading nothing more from
    /// `from` meanwhile.
    asio::awaitable<bool> write_rest(net::byte_stream& to, const std::vector<char>& pending,
                                     bool from_client) {
        const net::connection::write_scope writing(conn_);  // write_timeout applies
        std::size_t offset = 0;
        while (offset < pending.size()) {
            auto [ec, written] = co_await to.async_write_some(
                asio::buffer(pending.data() + offset, pending.size() - offset),
                asio::as_tuple(asio::use_awaitable));
            count_written(from_client, written);
            if (ec && !failed_ && !aborted(conn_)) {
                lose(to);
                co_return false;
            }
            if (ec || aborted(conn_)) {
                fail();
                co_return false;
            }
            offset += written;
            conn_.touch();  // progress, however slow, is not a stall
        }
        co_return true;
    }

    // Bytes count when read from a side and when written to the other, so the difference is
    // what the relay holds.
    void count_read(bool from_client, std::size_t bytes) {
        if (from_client) {
            conn_.count_in(bytes);
        } else {
            target_.count_received(bytes);
        }
    }

    void count_written(bool from_client, std::size_t bytes) {
        if (from_client) {
            target_.count_sent(bytes);
        } else {
            conn_.count_out(bytes);
        }
    }

    /// `to` cannot be written any more: its operations are cancelled, so the direction reading
    /// from it ends too, but a write still under way to the other side completes first (the
    /// reply an upstream sent before it closed reaches the client).
    void lose(net::byte_stream& to) {
        (&to == &upstream_ ? lost_upstream_ : lost_client_) = true;
        to.cancel();
    }

    bool lost(const net::byte_stream& stream) const {
        return &stream == &upstream_ ? lost_upstream_ : lost_client_;
    }

    /// Ends both directions: whichever is waiting is cancelled and returns.
    void fail() {
        failed_ = true;
        conn_.stream().cancel();
        upstream_.cancel();
    }

    net::connection& conn_;
    net::byte_stream& upstream_;
    net::edge_reader client_reader_;
    net::edge_reader upstream_reader_;
    upstream& target_;
    const std::size_t max_buffer_;
    const std::optional<std::chrono::nanoseconds> half_close_timeout_;
    bool failed_ = false;
    bool lost_client_ = false;    ///< lose() cancelled the client stream
    bool lost_upstream_ = false;  ///< lose() cancelled the upstream stream
};

asio::awaitable<void> run_proxy(net::connection& conn, std::shared_ptr<upstream_group> group) {
    net::byte_stream upstream_stream(conn.stream().get_executor());
    const link_guard linked(conn, upstream_stream);
    const auto lease = co_await connect_upstream(conn, *group, upstream_stream);
    if (!lease) co_return;
    auto& target = lease->target();
    conn.count_request();  // a request is a relayed connection
    boost::system::error_code ec;
    upstream_stream.tcp_socket().set_option(tcp::no_delay(true), ec);
    upstream_stream.tcp_socket().non_blocking(true, ec);
    if (ec) co_return;
    // TCP urgent data is relayed in line, as ordinary bytes (its urgency is not passed on):
    // left out of line, a reader skips it while the kernel's queue hint still counts it, so
    // a chunk sent with MSG_MORE would wait for the cork timer (edge_reader_reactor.hpp).
    for (auto* socket : {&conn.stream().tcp_socket(), &upstream_stream.tcp_socket()}) {
        socket->set_option(asio::socket_base::out_of_band_inline(true), ec);
        if (ec) co_return;
    }

    const auto& cfg = group->settings();
    if (cfg.send_proxy != config::proxy_protocol::none) {
        const auto header = net::encode_proxy_header(cfg.send_proxy, conn.remote_endpoint(),
                                                     conn.stream().local_endpoint(ec));
        const net::connection::write_scope writing(conn);
        auto [write_ec, written] = co_await asio::async_write(upstream_stream, asio::buffer(header),
                                                              asio::as_tuple(asio::use_awaitable));
        target.count_sent(written);  // the header counts as bytes sent upstream
        if (write_ec) co_return;
    }
    relay session(conn, upstream_stream, target, cfg);
    co_await session.run();
}

}  // namespace

proxy_handler::proxy_handler(const config::proxy_config& cfg, const proxy_handler* previous)
    : group_(std::make_shared<upstream_group>(
          cfg, previous != nullptr ? previous->group_.get() : nullptr)) {}

void proxy_handler::start(net::serve_done done) const {
    auto& conn = done.conn();
    // The group by value: connections keep the group they started with across a reload.
    net::spawn_serve(std::move(done), run_proxy(conn, group_));
}

void proxy_handler::start_background(const asio::any_io_executor& strand) const {
    group_->start_health_checks(strand);
}

void proxy_handler::stop_background() const { group_->stop_health_checks(); }

}  // namespace pier::handlers::proxy
