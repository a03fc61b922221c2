// A TLS client written as an application would write one, with Asio's ssl::stream (not pier's
// TLS code): it verifies the server's certificate against a trust anchor and its name, sends
// SNI and, optionally, ALPN.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

namespace pier::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class tls_client {
public:
    using stream_type = asio::ssl::stream<tcp::socket>;

    /// Connects to `server` and completes the handshake (throws system_error when it fails).
    static asio::awaitable<std::unique_ptr<tls_client>> connect(
        const tcp::endpoint& server, const std::filesystem::path& trust,
        const std::string& server_name = "localhost", const std::vector<std::string>& alpn = {});

    stream_type& stream() { return stream_; }
    /// The protocol the server chose by ALPN ("" when none), the TLS version ("TLSv1.3").
    std::string alpn() const;
    std::string version() const;

private:
    tls_client(const asio::any_io_executor& executor, const std::filesystem::path& trust);

    asio::ssl::context context_;
    stream_type stream_;
};

/// Writes `payload` while reading back as many bytes: what came back.
asio::awaitable<std::string> tls_echo_exchange(tls_client::stream_type& stream,
                                               const std::string& payload);

}  // namespace pier::test
