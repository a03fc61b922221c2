// Test fixtures: a server on 127.0.0.1:0 run in-process, and client helpers that run under a
// deadline on their own io_context (no sleeps: tests wait on events, bounded by the deadline).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "pier/config/config.hpp"
#include "pier/daemon/server.hpp"
#include "pier/net/byte_stream.hpp"

namespace pier::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

/// A config with one echo listener named "echo" on 127.0.0.1:0 and two workers.
config::config echo_config();

/// A started in-process server; shut down through the real protocol when destroyed.
class running_server {
public:
    explicit running_server(config::config cfg);
    ~running_server();

    daemon::server& get() { return *server_; }
    /// The address of listener `name` (port resolved).
    tcp::endpoint endpoint(std::string_view name = "echo");
    net::listener& listener(std::string_view name = "echo") { return server_->listener(name); }

private:
    std::unique_ptr<daemon::server> server_;
};

/// Runs the coroutine `body` (a callable returning awaitable<void>) on `io` until it finishes or
/// `deadline` passes. Fails the test with "did not finish" on timeout; rethrows its exception.
void run_with_timeout(asio::io_context& io, std::function<asio::awaitable<void>()> body,
                      std::chrono::steady_clock::duration deadline);

/// As above, on an io_context of its own: for a client whose sockets need not outlive `body`.
void run_with_timeout(std::function<asio::awaitable<void>()> body,
                      std::chrono::steady_clock::duration deadline);

/// Connects one client to `server` and runs `body` with it, on an io_context of its own and
/// under `deadline` (as run_with_timeout; the connect counts against the deadline). The client
/// is closed when `body` ends.
void with_client(const tcp::endpoint& server,
                 std::function<asio::awaitable<void>(tcp::socket&)> body,
                 std::chrono::steady_clock::duration deadline);

/// As with_client, with `count` clients connected one after another (each connect completes
/// before the next starts), all open before `body` begins.
void with_clients(const tcp::endpoint& server, std::size_t count,
                  std::function<asio::awaitable<void>(std::vector<tcp::socket>&)> body,
                  std::chrono::steady_clock::duration deadline);

/// Bytes whose content depends on position and seed, so a misordered echo is caught.
std::string make_payload(std::size_t size, unsigned seed = 0);

/// Writes `payload` and reads the same number of bytes back, concurrently (so payloads larger
/// than the socket buffers cannot deadlock); returns what was read.
asio::awaitable<std::string> echo_exchange(tcp::socket& socket, const std::string& payload);

/// Writes all of `data`.
asio::awaitable<void> write_all(tcp::socket& socket, const std::string& data);

/// Reads exactly `n` bytes (throws if the connection ends first).
asio::awaitable<std::string> read_exactly(tcp::socket& socket, std::size_t n);

/// Sends `request` and reads one response line, newline included; checks nothing follows it
/// (one request, one response).
asio::awaitable<std::string> ask(tcp::socket& socket, const std::string& request);

/// Reads until EOF or error; returns the bytes read and sets `error` to what ended it.
asio::awaitable<std::string> read_to_end(tcp::socket& socket, boost::system::error_code& error);

/// True when the server closes `socket` without sending a byte (a rejected or drained idle
/// connection).
asio::awaitable<bool> closed_without_answer(tcp::socket& socket);

/// Writes `flood` without reading until the connection stops taking bytes for a full second:
/// the server's echo back to us is stuck, so it has stopped reading (no healthy server stalls
/// that long). Returns the bytes written; fails the test if all of `flood` was taken.
asio::awaitable<std::size_t> write_until_stuck(tcp::socket& socket, const std::string& flood);

/// The address in a log line's "addr=HOST:PORT" field (IPv4), as pierd logs what it bound.
tcp::endpoint endpoint_from_log(const std::string& line);

/// CPU time this process has used so far, all threads (the in-process server's included).
std::chrono::nanoseconds process_cpu_now();

/// A loopback port free a moment ago (the kernel picked it for a socket now closed), for a
/// program that must be told its port (redis-server).
std::uint16_t free_port();

/// Waits until `condition` holds, looking every 2ms, for at most `timeout`; returns whether it
/// held. For server-side effects a client cannot observe (the server noticing a reset, a
/// counter): the wait ends as soon as the condition does, and the bound is a failure.
asio::awaitable<bool> eventually(std::function<bool()> condition,
                                 std::chrono::milliseconds timeout = 5s);

/// Moves the server's clock (runtime::clock) `by` forward, then runs `listener`'s timeout
/// sweep and waits for it: a connection past a timeout on the moved clock has then been asked
/// to stop. Tests of timeouts use it instead of waiting them out.
asio::awaitable<void> advance_and_sweep(net::listener& listener, std::chrono::nanoseconds by);

/// Closes `socket` with a reset (RST) instead of a FIN: SO_LINGER with a zero timeout.
void reset(tcp::socket& socket);

/// Connects a socket on `io`'s executor to `endpoint`.
asio::awaitable<tcp::socket> connect_to(const tcp::endpoint& endpoint);

/// A connected pair on loopback: `ours`, the accepted end, as the server's code sees it (a
/// net::byte_stream, non-blocking), and `peer`, the client's end.
struct stream_pair {
    net::byte_stream ours;
    tcp::socket peer;
};
asio::awaitable<stream_pair> connected_pair();

}  // namespace pier::test
