#include "pier/net/tls_handshake.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace pier::net {

boost::asio::awaitable<handshake_result> shake_hands(connection& conn) {
    namespace asio = boost::asio;
    using outcome = handshake_result::outcome;
    tls_session& tls = *conn.stream().tls();
    conn.begin_request();
    for (;;) {
        boost::system::error_code ec;
        switch (tls.handshake(ec)) {
            case tls_session::progress::done:
                conn.end_request();
                co_return handshake_result{outcome::done, {}};
            case tls_session::progress::want_read:
                if (!co_await conn.wait_readable())
                    co_return handshake_result{outcome::abandoned, {}};
                break;
            case tls_session::progress::want_write: {
                auto [wait_error] = co_await conn.stream().tcp_socket().async_wait(
                    tcp::socket::wait_write, asio::as_tuple(asio::use_awaitable));
                if (wait_error || conn.stop_requested() != stop_reason::none) {
                    co_return handshake_result{outcome::abandoned, {}};
                }
                break;
            }
            case tls_session::progress::failed:
                // A client gone (EOF, reset) before finishing has not sent bad TLS: a port
                // scanner, a health check, a client that gave up.
                if (ec == asio::error::eof || ec == asio::error::connection_reset) {
                    co_return handshake_result{outcome::abandoned, ec};
                }
                co_return handshake_result{outcome::failed, ec};
        }
    }
}

}  // namespace pier::net
