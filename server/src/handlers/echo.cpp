#include "pier/handlers/echo.hpp"

#include <algorithm>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "pier/handlers/worker_buffer.hpp"

namespace pier::handlers {
namespace {

namespace asio = boost::asio;

/// Reads at most `limit` bytes that are already available and echoes them. Returns false when
/// the connection is over (EOF, reset, write failure or abort).
asio::awaitable<bool> echo_available(net::connection& conn, std::size_t limit) {
    auto& socket = conn.socket();
    auto& buffer = worker_buffer(limit);
    boost::system::error_code ec;
    // The socket is non-blocking: this never waits.
    const std::size_t received = socket.read_some(asio::buffer(buffer.data(), limit), ec);
    if (ec == asio::error::would_block) co_return true;  // spurious wake-up
    if (ec) co_return false;                             // EOF or error: nothing to echo
    conn.count_in(received);
    conn.count_request();  // echo has no messages: each read echoed is one request
    conn.touch();

    std::size_t sent = socket.write_some(asio::buffer(buffer.data(), received), ec);
    if (ec == asio::error::would_block) {
        sent = 0;
    } else if (ec) {
        co_return false;
    }
    if (sent < received) {
        // The peer reads slower than it writes: keep the rest until it drains, reading nothing
        // more meanwhile. This copy is the only per-connection memory, freed right after.
        std::vector<char> pending(buffer.begin() + static_cast<std::ptrdiff_t>(sent),
                                  buffer.begin() + static_cast<std::ptrdiff_t>(received));
        std::size_t offset = 0;
        const net::connection::write_scope writing(conn);  // write_timeout applies
        while (offset < pending.size()) {
            auto [write_ec, written] = co_await socket.async_write_some(
                asio::buffer(pending.data() + offset, pending.size() - offset),
                asio::as_tuple(asio::use_awaitable));
            offset += written;
            if (write_ec) {
                conn.count_out(sent + offset);
                co_return false;
            }
            // Progress, however slow, is not idleness.
            conn.touch();
        }
        sent += offset;
    }
    conn.count_out(sent);
    conn.touch();
    co_return true;
}

/// Drain: echo what has arrived, and what keeps arriving without a pause (the rest of a message
/// the client was sending when the drain began), then close gracefully. A client that never
/// pauses is cut off by the drain deadline.
asio::awaitable<void> echo_received_then_close(net::connection& conn, std::size_t limit) {
    for (;;) {
        const std::uint64_t before = conn.bytes_in();
        if (!co_await echo_available(conn, limit)) co_return;
        if (conn.bytes_in() == before) break;  // nothing more to read right now
    }
    co_await conn.shutdown_and_linger();
}

}  // namespace

asio::awaitable<void> run_echo(net::connection& conn, config::echo_config cfg) {
    const auto limit = static_cast<std::size_t>(cfg.max_buffer);
    while (co_await conn.wait_readable()) {
        if (!co_await echo_available(conn, limit)) co_return;
    }
    if (conn.stop_requested() == net::stop_reason::drain) {
        co_await echo_received_then_close(conn, limit);
    }
}

}  // namespace pier::handlers
