#include "pier/admin/admin_server.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <fmt/ostream.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "pier/net/listening_socket.hpp"
#include "pier/version.hpp"

namespace pier::admin {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Longest request head accepted (request line and headers), in all. A scraper's is a few
/// hundred bytes.
constexpr std::size_t max_request_head = 8 * 1024;

http::response<http::string_body> make_response(const admin_reply& reply, unsigned version,
                                                bool head_only) {
    http::response<http::string_body> res{static_cast<http::status>(reply.status), version};
    res.set(http::field::server, "pier/" + std::string(pier::version));
    res.set(http::field::content_type, reply.content_type);
    res.set(http::field::cache_control, "no-store");
    if (!reply.allow.empty()) res.set(http::field::allow, reply.allow);
    if (head_only) {
        res.content_length(reply.body.size());  // what GET would send; no body
    } else {
        res.body() = reply.body;
        res.prepare_payload();
    }
    return res;
}

const admin_reply head_too_large{
    431, "text/plain; charset=utf-8", "request header fields too large\n", {}};
const admin_reply bad_request{400, "text/plain; charset=utf-8", "bad request\n", {}};

bool is_out_of_descriptors(const boost::system::error_code& ec) {
    return ec == asio::error::no_descriptors ||
           ec == boost::system::errc::too_many_files_open_in_system;
}

/// One request read from a connection: its parsed head, or the answer that ends the connection
/// (400, 431), or neither when the peer went away.
struct request_read {
    std::optional<http::request<http::empty_body>> request;
    std::optional<admin_reply> refusal;
};

/// Parses a complete head ("\r\n\r\n" included).
request_read parse_head(std::string_view head) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(max_request_head));
    beast::error_code ec;
    parser.put(asio::buffer(head.data(), head.size()), ec);
    // Not done after the head: the request announced a body, which no path takes.
    if (ec || !parser.is_done()) return {std::nullopt, bad_request};
    return {parser.release(), std::nullopt};
}

/// Where the request head at the front of `pending` ends ("\r\n\r\n" included); 0 if it has
/// not all arrived.
std::size_t head_length(const std::string& pending) {
    const auto at = pending.find("\r\n\r\n");
    return at == std::string::npos ? 0 : at + 4;
}

/// Appends to `pending` what the socket (non-blocking) holds now, up to the head's bound.
/// Reading a request that is already there without waiting keeps its connection from looking
/// idle to connection_slots in between (a probe's request has arrived by the time a flood lets
/// it be accepted).
void read_ready(tcp::socket& socket, std::string& pending) {
    std::array<char, 512> chunk{};
    while (pending.size() < max_request_head) {
        boost::system::error_code ec;
        const std::size_t n = socket.read_some(
            asio::buffer(chunk.data(), std::min(chunk.size(), max_request_head - pending.size())),
            ec);
        if (ec) return;  // would_block; or an error, which the next read reports
        pending.append(chunk.data(), n);
    }
}

/// Reads the next request head from `stream`; `pending` holds what the peer sent beyond the
/// requests already read. The head is bounded as a whole (Beast's parser alone bounds each
/// read's share of it: 20,000 short header lines passed).
asio::awaitable<request_read> read_request(beast::tcp_stream& stream, std::string& pending,
                                           const config::admin_config& cfg, bool first) {
    std::array<char, 512> chunk{};
    const auto read_more = [&]() -> asio::awaitable<bool> {
        const auto room = std::min(chunk.size(), max_request_head - pending.size());
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(chunk.data(), room), use_tuple);
        if (ec) co_return false;
        pending.append(chunk.data(), n);
        co_return true;
    };
    read_ready(stream.socket(), pending);
    if (!first && pending.empty()) {
        // Idle between requests: keepalive_timeout for the next one to begin.
        stream.expires_after(cfg.keepalive_timeout);
        if (!co_await read_more()) co_return request_read{};
    }
    stream.expires_after(cfg.timeout);  // for the whole head, however it arrives
    for (;;) {
        if (const std::size_t length = head_length(pending)) {
            auto read = parse_head(std::string_view(pending).substr(0, length));
            pending.erase(0, length);
            co_return read;
        }
        if (pending.size() >= max_request_head) {
            co_return request_read{std::nullopt, head_too_large};
        }
        if (!co_await read_more()) co_return request_read{};
    }
}

/// After a refusal, read on for a while before closing (nginx's lingering close): closing with
/// the rest of an oversized request unread would reset the connection, and the client could
/// lose the 431 it was sent. Bounded in time and bytes, like every other read here.
asio::awaitable<void> linger(beast::tcp_stream& stream) {
    constexpr std::size_t most_discarded = 1024 * 1024;
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds(1));
    std::array<char, 4096> discarded{};
    for (std::size_t total = 0; total < most_discarded;) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(discarded), use_tuple);
        if (ec) break;
        total += n;
    }
}

}  // namespace

admin_server::admin_server(const config::admin_config& cfg, admin_sources sources)
    : config_(cfg), sources_(std::move(sources)), slots_(cfg.max_connections), acceptor_(io_) {
    // Room for a flood of connections in the kernel's queue: a probe's SYN finds space there
    // rather than waiting a second for its retransmission (Linux caps it at somaxconn).
    // accept_on_reserve() accepts synchronously: the socket is non-blocking, so that accept
    // does not block if the client has gone.
    net::open_listening_socket(acceptor_, cfg.listen, {.backlog = 1024, .ipv6_only = false},
                               "admin");
    // Accept a connection once its first bytes have arrived (HAProxy's defer-accept, nginx's
    // `deferred`), or after admin.timeout without any: every admin client speaks first, so a
    // connection that sends nothing stays in the kernel meanwhile and takes no slot, and a
    // probe is accepted with its request in hand.
    const int defer_seconds =
        static_cast<int>(std::chrono::ceil<std::chrono::seconds>(cfg.timeout).count());
    if (::setsockopt(acceptor_.native_handle(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds,
                     sizeof defer_seconds) != 0) {
        throw net::bind_error(fmt::format("admin: cannot set TCP_DEFER_ACCEPT on {}: {}",
                                          cfg.listen.to_string(), std::strerror(errno)));
    }
    boost::system::error_code ec;
    local_ = acceptor_.local_endpoint(ec);
    if (!local_.address().is_loopback()) {
        spdlog::warn(
            "admin endpoint listens beyond loopback addr={}: anyone who can reach it sees the "
            "daemon's metrics; bind it to 127.0.0.1 or firewall it",
            fmt::streamed(local_));
    }
}

admin_server::~admin_server() { stop(); }

void admin_server::start() {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
    spdlog::info("admin listening addr={} paths=/metrics,/healthz,/readyz", fmt::streamed(local_));
}

void admin_server::stop() {
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
}

asio::awaitable<void> admin_server::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
        if (ec == asio::error::operation_aborted) co_return;
        bool on_reserve = false;
        if (is_out_of_descriptors(ec)) {
            if (auto reserved = accept_on_reserve()) {
                socket = std::move(*reserved);
                on_reserve = true;
                ec = {};
            }
        }
        if (ec) {
            // Out of descriptors with the reserve in use, or a transient error: wait a little
            // rather than spin; probes retry anyway.
            asio::steady_timer pause(io_, std::chrono::milliseconds(100));
            co_await pause.async_wait(use_tuple);
            reserve_.refill();
            continue;
        }
        if (slots_.make_room() > 0) {
            if (const auto n = reclaim_log_.allow()) {
                spdlog::warn(
                    "admin connection closed to make room reason=max_connections limit={} "
                    "occurrences={}",
                    config_.max_connections, n);
            }
        }
        asio::co_spawn(io_, serve(std::move(socket), on_reserve), [this](std::exception_ptr error) {
            // Whatever the connection held is free again: take a reserve if there is none.
            reserve_.refill();
            if (!error) return;
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                spdlog::error("admin connection failed error=\"{}\"", e.what());
            }
        });
    }
}

std::optional<tcp::socket> admin_server::accept_on_reserve() {
    // Out of descriptors, accept() fails whether or not a connection waits: give the reserve's
    // number up only for one that does (each time it is given up, a worker could take it).
    pollfd waiting{acceptor_.native_handle(), POLLIN, 0};
    if (::poll(&waiting, 1, 0) != 1) return std::nullopt;
    if (!reserve_.release()) return std::nullopt;
    tcp::socket socket(io_);
    boost::system::error_code ec;
    acceptor_.accept(socket, ec);
    if (ec) {
        // Nothing to accept after all (the client left), or a worker took the number first:
        // take the number back at once, before a worker's next accept can.
        reserve_.refill();
        return std::nullopt;
    }
    if (const auto n = reserve_log_.allow()) {
        spdlog::warn(
            "admin: out of descriptors, serving a connection on the reserved one occurrences={}",
            n);
    }
    return socket;
}

asio::awaitable<void> admin_server::serve(tcp::socket socket, bool on_reserve) {
    boost::system::error_code ignored_ec;
    socket.non_blocking(true, ignored_ec);  // for read_ready(); async operations work either way
    beast::tcp_stream stream(std::move(socket));
    connection_slots::slot slot(
        slots_,
        [&stream] {
            beast::error_code ignored;
            stream.socket().close(ignored);  // its pending read or write ends with an error
        },
        [&stream] {
            beast::error_code ignored;
            return stream.socket().available(ignored) > 0;  // FIONREAD: one system call
        });
    // Bounded: a client cannot make the endpoint buffer more than one request head.
    std::string pending;
    for (bool first = true;; first = false) {
        const auto read = co_await read_request(stream, pending, config_, first);
        if (!read.request && !read.refusal) break;  // gone, quiet, or closed to make room
        slot.touch();
        const bool refused = read.refusal.has_value();
        const admin_reply reply =
            refused ? *read.refusal
                    : route(read.request->method_string(), read.request->target(), sources_);
        const bool head_only = !refused && read.request->method() == http::verb::head;
        auto response = make_response(reply, refused ? 11 : read.request->version(), head_only);
        // A connection on the reserve answers one request: its descriptor is for the next probe.
        response.keep_alive(!refused && !on_reserve && read.request->keep_alive());
        stream.expires_after(config_.timeout);
        auto [write_ec, written] = co_await http::async_write(stream, response, use_tuple);
        if (!write_ec && refused) co_await linger(stream);
        if (write_ec || !response.keep_alive()) break;
        slot.touch();
    }
    if (slot.reclaimed()) co_return;
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (on_reserve) reserve_.take_back(stream.socket().release(ignored));
}

}  // namespace pier::admin
