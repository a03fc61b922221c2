#include "support/tls_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

// Asio's SSL code, compiled once (the runtime layer compiles the rest of Asio).
#include <boost/asio/ssl/impl/src.hpp>

namespace pier::test {

tls_client::tls_client(const asio::any_io_executor& executor, const std::filesystem::path& trust)
    : context_(asio::ssl::context::tls_client), stream_(executor, context_) {
    context_.load_verify_file(trust.string());
    // On the stream: its SSL object was made with the context's settings of the time.
    stream_.set_verify_mode(asio::ssl::verify_peer);
}

asio::awaitable<std::unique_ptr<tls_client>> tls_client::connect(
    const tcp::endpoint& server, const std::filesystem::path& trust, const std::string& server_name,
    const std::vector<std::string>& alpn) {
    std::unique_ptr<tls_client> client(new tls_client(co_await asio::this_coro::executor, trust));
    SSL* ssl = client->stream_.native_handle();
    // SSL_set_tlsext_host_name(), without its macro's C cast.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(server_name.c_str()));
    SSL_set1_host(ssl, server_name.c_str());
    if (!alpn.empty()) {
        std::string wire;
        for (const auto& name : alpn) {
            wire += static_cast<char>(name.size());
            wire += name;
        }
        SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned int>(wire.size()));
    }
    co_await client->stream_.next_layer().async_connect(server, asio::use_awaitable);
    co_await client->stream_.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    co_return client;
}

std::string tls_client::alpn() const {
    const unsigned char* name = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(const_cast<stream_type&>(stream_).native_handle(), &name, &length);
    return name != nullptr ? std::string(reinterpret_cast<const char*>(name), length) : "";
}

std::string tls_client::version() const {
    return SSL_get_version(const_cast<stream_type&>(stream_).native_handle());
}

asio::awaitable<std::string> tls_echo_exchange(tls_client::stream_type& stream,
                                               const std::string& payload) {
    using namespace asio::experimental::awaitable_operators;
    std::string received(payload.size(), '\0');
    co_await (asio::async_write(stream, asio::buffer(payload), asio::use_awaitable) &&
              asio::async_read(stream, asio::buffer(received), asio::use_awaitable));
    co_return received;
}

}  // namespace pier::test
