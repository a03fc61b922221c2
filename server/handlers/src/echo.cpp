#include "pier/handlers/echo.hpp"

#include <exception>
#include <tuple>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "pier/handlers/worker_buffer.hpp"
#include "pier/net/edge_reader.hpp"

namespace pier::handlers {
namespace {

namespace asio = boost::asio;

/// What the forwarding read hands each chunk to, inside the reactor: sends it straight back.
/// It runs on whichever thread performs the read, while the coroutine is suspended: it
/// touches the connection's atomic counters, its own fields and the stream's send_now().
struct echo_back {
    net::connection& conn;
    std::vector<char> unsent;  ///< what the peer did not take at once (the only copy)
    bool failed = false;       ///< a send failed, or the copy could not be made

    bool take(const char* data, std::size_t size) noexcept {
        conn.count_in(size);
        conn.count_request();  // echo has no messages: each chunk echoed is one request
        conn.touch();
        boost::system::error_code ec;
        const std::size_t sent = conn.stream().send_now(data, size, ec);
        if (ec) {
            failed = true;
            return false;
        }
        conn.count_out(sent);
        if (sent == size) return true;
        // The peer reads slower than it writes. The chunk lives in the reading thread's
        // buffer: keep the rest, and read nothing more until it is gone (backpressure).
        try {
            unsent.assign(data + sent, data + size);
        } catch (const std::exception&) {  // bad_alloc: the connection ends rather than the
            failed = true;                 // daemon (the caller of take() must not throw)
        }
        return false;
    }

    net::chunk_sink sink() { return net::sink_to(*this); }
};

/// Writes what the peer did not take at once, then frees it. False when the connection is over.
asio::awaitable<bool> write_unsent(net::connection& conn, std::vector<char>& unsent) {
    const net::connection::write_scope writing(conn);  // write_timeout applies
    std::size_t offset = 0;
    while (offset < unsent.size()) {
        // A stop that ran while nothing was pending (between the read and this write) cancelled
        // nothing: honour it here, or a peer that does not read holds us until write_timeout.
        if (conn.stop_requested() > net::stop_reason::drain) co_return false;
        auto [ec, written] = co_await conn.stream().async_write_some(
            asio::buffer(unsent.data() + offset, unsent.size() - offset),
            asio::as_tuple(asio::use_awaitable));
        offset += written;
        conn.count_out(written);
        if (ec) co_return false;
        conn.touch();  // progress, however slow, is not idleness
    }
    unsent = std::vector<char>();  // not clear(): an idle connection holds no buffer
    co_return true;
}

/// Reads at most `limit` bytes that are already available and echoes them. Returns false when
/// the connection is over (EOF, reset, write failure or abort).
asio::awaitable<bool> echo_available(net::connection& conn, echo_back& back, std::size_t limit) {
    auto& buffer = worker_buffer(limit);
    boost::system::error_code ec;
    const std::size_t received =
        conn.stream().read_available(asio::buffer(buffer.data(), limit), ec);
    if (ec == asio::error::would_block) co_return true;  // nothing there
    if (ec) co_return false;                             // EOF or error: nothing to echo
    if (back.take(buffer.data(), received)) co_return true;
    co_return !back.failed && co_await write_unsent(conn, back.unsent);
}

/// Drain: echo what has arrived, and what keeps arriving without a pause (the rest of a message
/// the client was sending when the drain began), then close gracefully. A client that never
/// pauses is cut off by the drain deadline.
asio::awaitable<void> echo_received_then_close(net::connection& conn, echo_back& back,
                                               std::size_t limit) {
    for (;;) {
        const std::uint64_t before = conn.bytes_in();
        if (!co_await echo_available(conn, back, limit)) co_return;
        if (conn.bytes_in() == before) break;  // nothing more to read right now
    }
    co_await conn.shutdown_and_linger();
}

asio::awaitable<void> run_echo(net::connection& conn, config::echo_config cfg) {
    const auto limit = static_cast<std::size_t>(cfg.max_buffer);
    net::edge_reader reader(conn.stream());
    echo_back back{conn, {}, false};
    // Unlike the proxy's relay, echo needs no recheck of a parked read (edge_reader.hpp): it
    // sends every chunk back on the stream it read it from, and that send fails on a reset
    // that arrived with the chunk; one arriving later raises an event of its own.
    while (conn.stop_requested() == net::stop_reason::none) {
        boost::system::error_code ec;
        {
            // Between chunks the read is the connection's idle wait: a drain interrupts it.
            const net::connection::interruptible_wait waiting(conn);
            ec = std::get<0>(co_await reader.async_forward_through_scratch(
                limit, false, back.sink(), asio::as_tuple(asio::use_awaitable)));
        }
        if (back.failed) co_return;
        if (ec == asio::error::operation_aborted) continue;  // a stop: the loop ends
        if (ec) co_return;  // EOF or an error: nothing more to echo
        if (!back.unsent.empty() && !co_await write_unsent(conn, back.unsent)) co_return;
        // Otherwise the chunk was echoed, the last of a run of chunks read without a pause
        // (edge_reader.hpp): more is likely waiting, and the next read tries the socket at once.
    }
    if (conn.stop_requested() == net::stop_reason::drain) {
        co_await echo_received_then_close(conn, back, limit);
    }
}

}  // namespace

asio::awaitable<void> echo_handler::serve(net::connection& conn) const {
    return run_echo(conn, cfg_);
}

}  // namespace pier::handlers
