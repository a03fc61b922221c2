#include "pier/net/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace pier::net {
namespace {

// nginx's lingering_timeout is 5s; a drain has its own deadline on top, so 1s of silence is
// enough to conclude the peer has stopped sending.
constexpr auto linger_quiet_period = std::chrono::seconds(1);

std::int64_t steady_now_ns() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

}  // namespace

std::string_view to_string(stop_reason reason) {
    switch (reason) {
        case stop_reason::none: return "none";
        case stop_reason::drain: return "drain";
        case stop_reason::idle: return "idle";
        case stop_reason::shutdown: return "shutdown";
    }
    return "unknown";
}

connection::connection(std::uint64_t id, tcp::socket socket, runtime::worker_lease lease)
    : id_(id),
      socket_(std::move(socket)),
      lease_(std::move(lease)),
      executor_(lease_.task_executor()),
      last_activity_ns_(steady_now_ns()) {
    boost::system::error_code ec;
    remote_ = socket_.remote_endpoint(ec);
}

asio::awaitable<bool> connection::wait_readable() {
    if (stop_ != stop_reason::none) co_return false;
    auto [ec] = co_await socket_.async_wait(
        tcp::socket::wait_read,
        asio::bind_cancellation_slot(wait_signal_.slot(), asio::as_tuple(asio::use_awaitable)));
    // A socket error also reports readable: the handler's read then sees the error itself.
    const bool stopped = stop_ != stop_reason::none;
    co_return !stopped && ec != asio::error::operation_aborted;
}

asio::awaitable<void> connection::shutdown_and_linger() {
    using namespace asio::experimental::awaitable_operators;
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    char discard[4096];
    asio::steady_timer quiet(socket_.get_executor());
    for (;;) {
        // A peer that sends nothing for linger_quiet_period after our FIN has stopped sending;
        // closing then cannot reset data it still wants. Without this bound a client that
        // keeps its end open would hold the drain until its deadline.
        quiet.expires_after(linger_quiet_period);
        auto woke = co_await (
            socket_.async_wait(tcp::socket::wait_read, asio::as_tuple(asio::use_awaitable)) ||
            quiet.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (woke.index() == 1) co_return;               // quiet long enough
        if (std::get<0>(std::get<0>(woke))) co_return;  // aborted (drain deadline) or failed
        const auto n = socket_.read_some(asio::buffer(discard), ec);
        if (ec == asio::error::would_block) continue;
        if (ec) co_return;  // EOF: the peer has everything; or reset: nothing more to do
        count_in(n);
    }
}

void connection::touch() { last_activity_ns_.store(steady_now_ns(), std::memory_order_relaxed); }

std::chrono::steady_clock::time_point connection::last_activity() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_activity_ns_.load(std::memory_order_relaxed)));
}

void connection::request_stop(stop_reason reason) {
    // A connection that is already being destroyed has nothing left to stop.
    auto self = weak_from_this().lock();
    if (!self) return;
    // Cancellation signals are not thread-safe: emit them on the connection's own executor.
    asio::post(executor_, [self = std::move(self), reason] { self->stop_on_executor(reason); });
}

void connection::stop_on_executor(stop_reason reason) {
    if (reason <= stop_) return;
    stop_ = reason;
    // Total, not terminal: the socket stays usable after an interrupted wait (drain goes on
    // to read and write).
    wait_signal_.emit(asio::cancellation_type::total);
    if (reason != stop_reason::drain) task_signal_.emit(asio::cancellation_type::terminal);
}

}  // namespace pier::net
