#include "pier/admin/probe.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "pier/version.hpp"

namespace pier::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

/// A health answer is a short status text; more than this is not what a probe talks to.
constexpr std::uint64_t max_response_body = 64 * 1024;

}  // namespace

result<probe_url> parse_probe_url(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    if (url.substr(0, scheme.size()) != scheme) {
        return failure{"expected an http:// URL, e.g. http://127.0.0.1:9090/readyz"};
    }
    std::string_view rest = url.substr(scheme.size());
    const auto slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    probe_url out;
    out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));

    std::string_view host = authority;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return failure{"unterminated [IPv6] host"};
        host = authority.substr(1, close - 1);
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return failure{"expected :port after [IPv6] host"};
            port = after.substr(1);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) return failure{"missing host"};
    boost::system::error_code ec;
    asio::ip::make_address(std::string(host), ec);
    if (ec && host != "localhost") {
        return failure{"host must be an IP address or localhost (no DNS in a probe)"};
    }
    out.host = host == "localhost" ? "127.0.0.1" : std::string(host);
    if (!port.empty()) {
        unsigned value = 0;
        for (const char c : port) {
            if (c < '0' || c > '9' || value > 65535) return failure{"bad port"};
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        if (value == 0 || value > 65535) return failure{"port must be 1 to 65535"};
        out.port = static_cast<std::uint16_t>(value);
    }
    return out;
}

probe_result run_probe(const probe_url& url, std::chrono::nanoseconds timeout) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    beast::flat_buffer buffer;
    http::request<http::empty_body> request{http::verb::get, url.target, 11};
    request.set(http::field::host, url.host);
    request.set(http::field::user_agent, "pierd-probe/" + std::string(pier::version));
    request.set(http::field::connection, "close");
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_response_body);
    probe_result result;
    result.summary = "no answer";

    // One deadline for the whole exchange: connect, write, read.
    stream.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout));
    const tcp::endpoint endpoint(asio::ip::make_address(url.host), url.port);
    stream.async_connect(endpoint, [&](beast::error_code ec) {
        if (ec) {
            result.summary = "connect failed: " + ec.message();
            return;
        }
        http::async_write(stream, request, [&](beast::error_code write_ec, std::size_t) {
            if (write_ec) {
                result.summary = "send failed: " + write_ec.message();
                return;
            }
            http::async_read(stream, buffer, parser, [&](beast::error_code read_ec, std::size_t) {
                if (read_ec) {
                    result.summary = "no valid answer: " + read_ec.message();
                    return;
                }
                const auto& response = parser.get();
                const unsigned status = response.result_int();
                result.healthy = status >= 200 && status < 300;
                result.summary = std::to_string(status) + " " + std::string(response.reason());
            });
        });
    });
    io.run();
    return result;
}

}  // namespace pier::admin
