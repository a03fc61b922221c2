#include "pier/net/proxy_header_reader.hpp"

#include <array>

#include <fmt/format.h>

namespace pier::net {

asio::awaitable<proxy_header_read> read_proxy_header(connection& conn) {
    using status = proxy_header_read::status;
    // The header precedes any other protocol on the wire (TLS included): read from TCP.
    auto& socket = conn.stream().tcp_socket();
    std::array<char, max_proxy_header> received{};  // the header's bytes so far
    std::size_t kept = 0;
    std::array<char, max_proxy_header> peeked{};
    while (co_await conn.wait_readable()) {
        boost::system::error_code ec;
        const std::size_t n = socket.receive(asio::buffer(peeked.data(), received.size() - kept),
                                             tcp::socket::message_peek, ec);
        if (ec == asio::error::would_block) continue;
        if (ec == asio::error::eof && kept > 0) {
            // The peer ended its stream part way through: a partial header, which the
            // specification says to reject like any malformed one.
            co_return proxy_header_read{
                status::invalid,
                {},
                fmt::format("truncated: the peer closed after {} bytes", kept)};
        }
        if (ec || n == 0) co_return proxy_header_read{status::closed, {}, {}};
        std::copy_n(peeked.begin(), n, received.begin() + static_cast<std::ptrdiff_t>(kept));
        const auto parsed = parse_proxy_header(std::string_view(received.data(), kept + n));
        switch (parsed.state) {
            case proxy_parse::status::invalid:
                co_return proxy_header_read{status::invalid, {}, parsed.error};
            case proxy_parse::status::done: {
                // Only the header's own bytes leave the socket; the rest is the handler's.
                const std::size_t header_part = parsed.consumed - kept;
                const auto taken = socket.receive(asio::buffer(peeked.data(), header_part), 0, ec);
                if (ec || taken != header_part) co_return proxy_header_read{status::closed, {}, {}};
                conn.count_in(parsed.consumed);
                conn.touch();
                conn.end_request();
                co_return proxy_header_read{status::ok, parsed.header, {}};
            }
            case proxy_parse::status::incomplete: {
                // Every byte seen belongs to the header: take them, wait for the rest.
                const auto taken = socket.receive(asio::buffer(peeked.data(), n), 0, ec);
                if (ec || taken != n) co_return proxy_header_read{status::closed, {}, {}};
                kept += n;
                conn.touch();
                conn.begin_request();  // the rest must follow within request_timeout
                if (kept == received.size()) {
                    co_return proxy_header_read{status::invalid, {}, "header too long"};
                }
                break;
            }
        }
    }
    co_return proxy_header_read{status::closed, {}, {}};
}

}  // namespace pier::net
