#include "pier/net/connection.hpp"

#include <algorithm>
#include <limits>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pier/net/edge_reader.hpp"

namespace pier::net {
namespace {

// nginx's lingering_timeout is 5s; a drain has its own deadline on top, so 1s of silence is
// enough to conclude the peer has stopped sending.
constexpr auto linger_quiet_period = std::chrono::seconds(1);

std::int64_t now_ns() { return runtime::clock::now().time_since_epoch().count(); }

}  // namespace

connection::connection(std::uint64_t id, stream_socket socket, runtime::worker_lease lease)
    : last_activity_ns_(now_ns()), stream_(std::move(socket)), id_(id), lease_(std::move(lease)) {
    if (const auto task_executor = lease_.task_executor();
        const auto* serial = task_executor.target<runtime::serial_executor>()) {
        serial_ = *serial;
    }
    boost::system::error_code ec;
    remote_ = stream_.tcp_socket().remote_endpoint(ec);
}

connection_ptr connection::try_ref() {
    auto refs = refs_.load(std::memory_order_relaxed);
    do {
        if (refs == 0) return nullptr;
    } while (!refs_.compare_exchange_weak(refs, refs + 1, std::memory_order_relaxed));
    return connection_ptr(this, false);  // the reference just counted
}

asio::any_io_executor connection::executor() {
    if (serial_) return serial_;
    return stream_.tcp_socket().get_executor();
}

/// Completes a wait_readable(): turns the socket wait's error code into "go on reading" and
/// resumes the coroutine on its executor.
///
/// It declares the socket's own executor as its associated executor, so the reactor calls it
/// directly, and hands the coroutine to the connection's serializer itself, through the
/// serializer's concrete type. Left to Asio, the completion would go through any_io_executor:
/// a type-erased function allocated per message plus work-count bookkeeping, ~400 instructions
/// per echoed message in callgrind (bench/callgrind_echo.sh).
template <typename Handler>
class connection::readable_handler {
public:
    using executor_type = tcp::socket::executor_type;

    readable_handler(connection& conn, Handler handler)
        : conn_(conn), handler_(std::move(handler)) {}

    executor_type get_executor() const noexcept {
        return conn_.stream_.tcp_socket().get_executor();
    }

    void operator()(boost::system::error_code ec) {
        if (conn_.serial_) {
            conn_.serial_.execute([&conn = conn_, handler = std::move(handler_), ec]() mutable {
                finish(conn, std::move(handler), ec);
            });
        } else {
            // Pinned: the coroutine's executor is this reactor's own, running this call.
            finish(conn_, std::move(handler_), ec);
        }
    }

private:
    /// On the connection's executor: its state is only touched there.
    static void finish(connection& conn, Handler handler, boost::system::error_code ec) {
        conn.waiting_ = false;
        // A socket error also reports readable: the handler's read then sees the error itself.
        std::move(handler)(conn.stop_ == stop_reason::none && ec != asio::error::operation_aborted);
    }

    connection& conn_;
    Handler handler_;
};

template <typename Handler>
void connection::start_wait_readable(Handler handler) {
    if (stop_ != stop_reason::none) {
        // Completed through the coroutine's executor, never inline in the initiation.
        const auto executor = asio::get_associated_executor(handler);
        asio::post(executor,
                   [handler = std::move(handler)]() mutable { std::move(handler)(false); });
        return;
    }
    waiting_ = true;
    if (const tls_session* tls = stream_.tls(); tls != nullptr && tls->has_buffered()) {
        // Plaintext OpenSSL already decrypted: no readiness event will announce it.
        asio::post(stream_.get_executor(),
                   [ready = readable_handler<Handler>(*this, std::move(handler))]() mutable {
                       ready(boost::system::error_code());
                   });
        return;
    }
    stream_.tcp_socket().async_wait(tcp::socket::wait_read,
                                    readable_handler<Handler>(*this, std::move(handler)));
}

asio::awaitable<bool> connection::wait_readable() {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(bool)>(
        [this](auto handler) { start_wait_readable(std::move(handler)); }, asio::use_awaitable);
}

asio::awaitable<bool> connection::sleep_for(std::chrono::nanoseconds duration) {
    if (stop_ > stop_reason::drain) co_return false;
    asio::steady_timer timer(stream_.get_executor(), duration);
    sleeping_ = &timer;
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    sleeping_ = nullptr;
    co_return !ec;
}

asio::awaitable<void> connection::shutdown_and_linger() {
    using namespace asio::experimental::awaitable_operators;
    if (stop_ > stop_reason::drain) co_return;  // aborted: no time left to linger
    boost::system::error_code ec;
    stream_.shutdown_send(ec);
    if (ec) co_return;
    char discard[4096];
    asio::steady_timer quiet(stream_.get_executor());
    for (;;) {
        // A peer that sends nothing for linger_quiet_period after our FIN has stopped sending;
        // closing then cannot reset data it still wants. Without this bound a client that
        // keeps its end open would hold the drain until its deadline.
        quiet.expires_after(linger_quiet_period);
        auto woke = co_await (stream_.tcp_socket().async_wait(
                                  tcp::socket::wait_read, asio::as_tuple(asio::use_awaitable)) ||
                              quiet.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (woke.index() == 1) co_return;               // quiet long enough
        if (std::get<0>(std::get<0>(woke))) co_return;  // aborted (drain deadline) or failed
        const auto n = stream_.read_available(asio::buffer(discard), ec);
        if (ec == asio::error::would_block) continue;
        if (ec) co_return;  // EOF: the peer has everything; or reset: nothing more to do
        count_in(n);
    }
}

traffic_totals connection::traffic() const {
    return {bytes_in_.load(std::memory_order_relaxed), bytes_out_.load(std::memory_order_relaxed),
            requests_.load(std::memory_order_relaxed),
            handler_errors_.load(std::memory_order_relaxed)};
}

void connection::touch() { last_activity_ns_.store(now_ns(), std::memory_order_relaxed); }

void connection::begin_request() {
    if (request_started_ns_.load(std::memory_order_relaxed) == 0) {
        request_started_ns_.store(now_ns(), std::memory_order_relaxed);
    }
}

std::optional<runtime::clock::time_point> connection::request_started() const {
    const auto ns = request_started_ns_.load(std::memory_order_relaxed);
    if (ns == 0) return std::nullopt;
    return runtime::clock::time_point(runtime::clock::duration(ns));
}

void connection::shorten_idle_timeout(std::chrono::nanoseconds limit) {
    using std::chrono::milliseconds;
    const auto ms =
        std::clamp<milliseconds::rep>(std::chrono::duration_cast<milliseconds>(limit).count(), 1,
                                      std::numeric_limits<std::uint32_t>::max());
    own_idle_timeout_ms_.store(static_cast<std::uint32_t>(ms), std::memory_order_relaxed);
}

runtime::clock::time_point connection::last_activity() const {
    return runtime::clock::time_point(
        runtime::clock::duration(last_activity_ns_.load(std::memory_order_relaxed)));
}

void connection::request_stop(stop_reason reason) {
    // A connection that is already being destroyed has nothing left to stop.
    auto self = try_ref();
    if (!self) return;
    // Cancellation signals are not thread-safe: emit them on the connection's own executor.
    asio::post(executor(), [self = std::move(self), reason] { self->stop_on_executor(reason); });
}

void connection::stop_slow_request(runtime::clock::time_point began) {
    auto self = try_ref();
    if (!self) return;
    const auto began_ns = began.time_since_epoch().count();
    asio::post(executor(), [self = std::move(self), began_ns] {
        if (self->request_started_ns_.load(std::memory_order_relaxed) != began_ns) return;
        self->stop_on_executor(stop_reason::request_timeout);
    });
}

void connection::stop_on_executor(stop_reason reason) {
    if (reason <= stop_) return;
    stop_ = reason;
    // A drain interrupts only an idle wait: then the wait is the socket's one operation, and
    // the socket stays usable after it (the drain goes on to read and write).
    // The socket stays open until the listener closes it after the handler has ended, so a
    // peer that sees the close also sees the connection counted (tests rely on it).
    const bool abort_everything = reason != stop_reason::drain;
    if (waiting_ || abort_everything) stream_.cancel();
    if (abort_everything && sleeping_ != nullptr) sleeping_->cancel();
    if (byte_stream* other = linked_.load(std::memory_order_relaxed);
        abort_everything && other != nullptr) {
        other->cancel();
    }
}

void connection::recheck_sockets() {
    const auto activity = last_activity_ns_.load(std::memory_order_relaxed);
    if (rechecked_activity_.load(std::memory_order_relaxed) == activity) return;
    rechecked_activity_.store(activity, std::memory_order_relaxed);
    auto self = try_ref();
    if (!self) return;
    asio::post(executor(), [self = std::move(self)] { self->recheck_on_executor(); });
}

namespace {

/// The peer has stopped sending or is gone (a FIN or a reset arrived): a read would not wait.
/// Asks the kernel for the TCP state (TCP_INFO's first byte), which, unlike SO_ERROR or a
/// read, consumes nothing. (Also true before a connection is established, when no relay read
/// is parked on the socket, so the answer is not used then.)
bool peer_done(byte_stream& stream) {
    auto& socket = stream.tcp_socket();
    if (!socket.is_open()) return false;
    std::uint8_t state = 0;
    socklen_t length = sizeof state;
    if (::getsockopt(socket.native_handle(), IPPROTO_TCP, TCP_INFO, &state, &length) != 0) {
        return false;
    }
    return state != TCP_ESTABLISHED && state != TCP_FIN_WAIT1 && state != TCP_FIN_WAIT2;
}

}  // namespace

void connection::recheck_on_executor() {
    byte_stream* other = linked_.load(std::memory_order_relaxed);
    if (other == nullptr) return;  // the relay is over
    for (byte_stream* s : {&stream_, other}) {
        if (peer_done(*s)) edge_reader::cancel_read(*s);
    }
}

}  // namespace pier::net
