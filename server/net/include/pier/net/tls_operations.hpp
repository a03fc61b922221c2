// A TLS byte_stream's waiting reads and writes as Asio operations: each tries OpenSSL first and,
// when it needs the socket, waits for it (async_wait) and tries again. byte_stream's
// async_write_some and edge_reader's reads use them for a stream with a tls_session.
//
// Unlike the TCP reactor path (edge_reader_reactor.hpp), a TLS read waits with async_wait,
// which re-arms the descriptor each time (one epoll_ctl per wait) and reads until OpenSSL
// reports WANT_READ (one recv() that finds nothing per run): records and their buffering are
// OpenSSL's, so the kernel's queue hint cannot say when the plaintext is drained.
//
// Neither completes inside its initiating call: a read starts by waiting (or, when OpenSSL
// already holds plaintext, by a post), a write by waiting for the socket to take bytes.
#pragma once

#include <cstddef>
#include <utility>

#include <boost/asio/append.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include "pier/net/chunk_sink.hpp"
#include "pier/net/scratch_buffer.hpp"
#include "pier/net/tls_session.hpp"

namespace pier::net::tls_detail {

namespace asio = boost::asio;

/// Reads plaintext into its buffer (or, with a null buffer, the thread's scratch buffer, at most
/// its size), handing each chunk to the sink when there is one, as edge_reader's reads do
/// (edge_reader.hpp): completes with an error, EOF, a chunk refused (or any chunk, without a
/// sink), or the last chunk of a run.
template <typename Socket>
class read_op {
public:
    read_op(tls_session& session, Socket& socket, asio::mutable_buffer buffer, chunk_sink sink)
        : session_(session), socket_(socket), buffer_(buffer), sink_(sink) {}

    /// Start: every cancellation type ends the read, as a cancelled async_read_some.
    template <typename Self>
    void operator()(Self& self) {
        self.reset_cancellation_state(asio::enable_total_cancellation());
        if (session_.has_buffered()) {  // plaintext already here: no readiness will announce it
            asio::post(socket_.get_executor(),
                       asio::append(std::move(self), boost::system::error_code()));
        } else {
            socket_.async_wait(Socket::wait_read, std::move(self));
        }
    }

    /// The socket became ready (or failed): read until OpenSSL needs the socket again.
    template <typename Self>
    void operator()(Self& self, boost::system::error_code ec) {
        if (ec) return self.complete(ec, 0);
        std::size_t forwarded = 0;
        for (unsigned chunks = 1;; ++chunks) {
            const auto buffer = buffer_.data() != nullptr
                                    ? buffer_
                                    : edge_read_detail::scratch_buffer(buffer_.size());
            if (buffer.size() == 0) return self.complete(asio::error::no_memory, 0);
            std::size_t bytes = 0;
            switch (session_.read(static_cast<char*>(buffer.data()), buffer.size(), bytes, ec)) {
                case tls_session::progress::done: break;
                case tls_session::progress::want_read: return wait(self, Socket::wait_read);
                case tls_session::progress::want_write: return wait(self, Socket::wait_write);
                case tls_session::progress::failed: return self.complete(ec, 0);
            }
            forwarded += bytes;
            if (!taken(bytes, buffer) || chunks == max_chunks_in_a_row ||
                forwarded >= max_bytes_in_a_row) {
                return self.complete(ec, bytes);
            }
        }
    }

private:
    template <typename Self>
    void wait(Self& self, typename Socket::wait_type type) {
        if (self.cancelled() != asio::cancellation_type::none) {
            return self.complete(asio::error::operation_aborted, 0);
        }
        socket_.async_wait(type, std::move(self));
    }

    /// Hands a chunk to the sink: whether it took it (no sink: a plain read completes).
    bool taken(std::size_t bytes, asio::mutable_buffer buffer) {
        if (sink_.take == nullptr) return false;
        return sink_.take(sink_.context, static_cast<const char*>(buffer.data()), bytes, false);
    }

    tls_session& session_;
    Socket& socket_;
    asio::mutable_buffer buffer_;
    chunk_sink sink_;
};

/// Writes the first bytes of `data` that the session takes (at least a record, or all).
template <typename Socket>
class write_op {
public:
    write_op(tls_session& session, Socket& socket, asio::const_buffer data)
        : session_(session), socket_(socket), data_(data) {}

    template <typename Self>
    void operator()(Self& self) {
        socket_.async_wait(Socket::wait_write, std::move(self));
    }

    template <typename Self>
    void operator()(Self& self, boost::system::error_code ec) {
        if (ec) return self.complete(ec, 0);
        std::size_t written = 0;
        switch (session_.write(static_cast<const char*>(data_.data()), data_.size(), written, ec)) {
            case tls_session::progress::done: return self.complete(ec, written);
            case tls_session::progress::want_read:
                return socket_.async_wait(Socket::wait_read, std::move(self));
            case tls_session::progress::want_write:
                return socket_.async_wait(Socket::wait_write, std::move(self));
            case tls_session::progress::failed: return self.complete(ec, 0);
        }
    }

private:
    tls_session& session_;
    Socket& socket_;
    asio::const_buffer data_;
};

/// The first non-empty buffer of a sequence (a write_some writes from one).
template <typename ConstBufferSequence>
asio::const_buffer first_buffer(const ConstBufferSequence& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
        const asio::const_buffer buffer(*it);
        if (buffer.size() > 0) return buffer;
    }
    return {};
}

}  // namespace pier::net::tls_detail
