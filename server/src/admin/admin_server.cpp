#include "pier/admin/admin_server.hpp"

#include <fmt/ostream.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "pier/net/listener.hpp"
#include "pier/version.hpp"

namespace pier::admin {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Longest request head accepted (request line and headers). A scraper's is a few hundred bytes.
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

/// The answer to a request that could not be parsed; the connection closes after it.
admin_reply parse_failure(const beast::error_code& ec) {
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
        return {431, "text/plain; charset=utf-8", "request header fields too large\n", {}};
    }
    return {400, "text/plain; charset=utf-8", "bad request\n", {}};
}

/// The peer went away or went quiet: nothing to answer.
bool is_disconnect(const beast::error_code& ec) {
    return ec == http::error::end_of_stream || ec == beast::error::timeout ||
           ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::operation_aborted || ec == http::error::partial_message;
}

}  // namespace

admin_server::admin_server(const config::admin_config& cfg, admin_sources sources)
    : config_(cfg), sources_(std::move(sources)), acceptor_(io_) {
    const auto fail = [&](std::string_view step, const boost::system::error_code& ec) {
        throw net::bind_error(
            fmt::format("admin: cannot {} {}: {}", step, cfg.listen.to_string(), ec.message()));
    };
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(cfg.listen.host, ec);
    if (ec) fail("parse address", ec);
    const tcp::endpoint endpoint(address, cfg.listen.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) fail("open socket for", ec);
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    acceptor_.bind(endpoint, ec);
    if (ec) fail("bind", ec);
    acceptor_.listen(64, ec);
    if (ec) fail("listen on", ec);
    local_ = acceptor_.local_endpoint(ec);
    if (!address.is_loopback()) {
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
        if (ec) {
            // EMFILE and friends: wait a little rather than spin; probes retry anyway.
            asio::steady_timer pause(io_, std::chrono::milliseconds(100));
            co_await pause.async_wait(use_tuple);
            continue;
        }
        if (active_ >= config_.max_connections) {
            if (const auto n = reject_log_.allow()) {
                spdlog::warn(
                    "admin connection rejected reason=max_connections limit={} "
                    "occurrences={}",
                    config_.max_connections, n);
            }
            continue;  // the socket closes as it goes out of scope
        }
        ++active_;
        asio::co_spawn(io_, serve(std::move(socket)), [this](std::exception_ptr error) {
            --active_;
            if (!error) return;
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                spdlog::error("admin connection failed error=\"{}\"", e.what());
            }
        });
    }
}

asio::awaitable<void> admin_server::serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    // Bounded: a client cannot make the endpoint buffer more than one request head.
    beast::flat_buffer buffer(max_request_head);
    for (;;) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(max_request_head));
        stream.expires_after(config_.timeout);
        auto [read_ec, read_n] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (read_ec && is_disconnect(read_ec)) break;
        const auto& request = parser.get();
        const bool failed = static_cast<bool>(read_ec);
        const admin_reply reply = failed
                                      ? parse_failure(read_ec)
                                      : route(request.method_string(), request.target(), sources_);
        auto response = make_response(reply, failed ? 11 : request.version(),
                                      !failed && request.method() == http::verb::head);
        response.keep_alive(!failed && request.keep_alive());
        stream.expires_after(config_.timeout);
        auto [write_ec, written] = co_await http::async_write(stream, response, use_tuple);
        if (write_ec || !response.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace pier::admin
