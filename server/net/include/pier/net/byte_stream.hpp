// The bytes of one connection as a handler reads and writes them: the seam between the
// handlers and the transport. Today the transport is TCP, and a byte_stream is a connected
// TCP socket. Handlers (echo, synthetic, the proxy's relay on both of its sides) move bytes
// only through the operations below and the edge_reader built on a byte_stream, never through
// the socket itself, so a second transport can go in under them without changing them.
//
// TLS (ARCHITECTURE.md, "The byte stream and TLS"): a byte_stream may hold a tls_session,
// null for TCP; each operation below branches on it, so a TCP connection pays one predictable
// branch and one pointer, and no virtual call (these operations run once per message:
// bench/callgrind_echo.sh counts them). With a session, read_available() and the edge_reader's
// reads return plaintext, send_now() and async_write_some() encrypt, shutdown_send() sends
// close_notify before the FIN. The listener does the handshake before the handler starts
// (after a PROXY header, which travels in the clear ahead of TLS).
//
// Threads: as for the socket (the connection's executor; send_now() also from a forwarding
// read's sink, edge_reader.hpp).
#pragma once

#include <cerrno>
#include <cstddef>
#include <memory>
#include <utility>

#include <sys/socket.h>

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "pier/net/tls_operations.hpp"
#include "pier/net/tls_session.hpp"

namespace pier::net {

/// The TCP socket under every byte_stream: on a worker's io_context, and typed with that
/// executor (8 bytes) rather than tcp::socket's any_io_executor (56): every connection holds
/// one for its whole life, the proxy two, and every operation on it copies the executor.
using stream_socket =
    boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

class byte_stream {
public:
    using tcp = boost::asio::ip::tcp;
    using executor_type = stream_socket::executor_type;

    /// A connected socket (accepted, or connected by the proxy).
    explicit byte_stream(net::stream_socket socket) : socket_(std::move(socket)) {}
    /// A stream to connect through tcp_socket() (the proxy's upstream).
    explicit byte_stream(const executor_type& executor) : socket_(executor) {}

    byte_stream(byte_stream&&) = default;
    byte_stream& operator=(byte_stream&&) = default;

    executor_type get_executor() { return socket_.get_executor(); }

    /// From now on the stream carries `session`'s records (TLS). Before its handshake, with
    /// nothing read from the socket but a PROXY header.
    void start_tls(std::unique_ptr<tls_session> session) { tls_ = std::move(session); }
    /// The stream's TLS session, or null (TCP).
    tls_session* tls() const { return tls_.get(); }

    /// Reads what has already arrived, without waiting: fails with would_block when nothing
    /// has, with eof once the peer has finished sending.
    std::size_t read_available(boost::asio::mutable_buffer buffer, boost::system::error_code& ec) {
        if (tls_) return read_tls(buffer, ec);
        return socket_.read_some(buffer, ec);
    }

    /// Sends as much of `data` as the peer's window takes now, without waiting: returns how
    /// many bytes went (possibly 0). `ec` is set when the stream failed; a full window is not
    /// a failure. `more`: the caller has more to send at once, so the kernel may hold these
    /// bytes to go with them (MSG_MORE: fewer, larger segments); the next send without it, a
    /// shutdown or a close lets them go. noexcept, for forwarding reads' sinks
    /// (chunk_sink.hpp).
    std::size_t send_now(const char* data, std::size_t size, boost::system::error_code& ec,
                         bool more = false) noexcept {
        ec.clear();
        if (tls_) return send_tls(data, size, ec);
        const int flags = MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0);
        ssize_t n = 0;
        do {
            n = ::send(socket_.native_handle(), data, size, flags);
        } while (n < 0 && errno == EINTR);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            ec.assign(errno, boost::system::system_category());
        }
        return 0;
    }

    /// As the socket's async_write_some: with get_executor(), a byte_stream is an Asio
    /// AsyncWriteStream, so asio::async_write() writes whole buffers to it.
    template <typename ConstBufferSequence, typename WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        if (!tls_) return socket_.async_write_some(buffers, std::forward<WriteToken>(token));
        return boost::asio::async_compose<WriteToken, void(boost::system::error_code, std::size_t)>(
            tls_detail::write_op<stream_socket>(*tls_, socket_, tls_detail::first_buffer(buffers)),
            token, socket_);
    }

    /// Ends our direction (the peer reads EOF; a TLS peer first gets close_notify); reading
    /// goes on.
    void shutdown_send(boost::system::error_code& ec) {
        if (tls_) tls_->close_notify();
        socket_.shutdown(tcp::socket::shutdown_send, ec);
    }

    /// Ends every pending operation with operation_aborted; the stream stays usable.
    void cancel() {
        boost::system::error_code ignored;
        socket_.cancel(ignored);
    }

    /// Closes at once, without a goodbye to the peer.
    void close() {
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

    tcp::endpoint local_endpoint(boost::system::error_code& ec) const {
        return socket_.local_endpoint(ec);
    }

    /// The TCP socket under the stream, for what concerns TCP whatever the stream carries:
    /// connecting, options, waiting for readiness, the kernel's TCP state, the edge_reader's
    /// reactor path. Never for the bytes themselves: under TLS they would bypass the records.
    net::stream_socket& tcp_socket() { return socket_; }

private:
    std::size_t read_tls(boost::asio::mutable_buffer buffer, boost::system::error_code& ec) {
        ec.clear();
        std::size_t bytes = 0;
        switch (tls_->read(static_cast<char*>(buffer.data()), buffer.size(), bytes, ec)) {
            case tls_session::progress::done: return bytes;
            case tls_session::progress::want_read:
            case tls_session::progress::want_write: ec = boost::asio::error::would_block; return 0;
            case tls_session::progress::failed: return 0;
        }
        return 0;
    }

    std::size_t send_tls(const char* data, std::size_t size,
                         boost::system::error_code& ec) noexcept {
        std::size_t bytes = 0;
        if (tls_->write(data, size, bytes, ec) == tls_session::progress::failed) return 0;
        return bytes;  // 0 when it waits for the socket: the caller keeps the bytes and retries
    }

    net::stream_socket socket_;
    std::unique_ptr<tls_session> tls_;  ///< null: TCP
};

}  // namespace pier::net
