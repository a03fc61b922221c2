// edge_reader on Asio's public operations: the portable path (edge_reader.hpp says what the
// class does and when this path is used). One composed operation (asio::async_compose) serves
// all three reads:
// - with a buffer of its own, it loops on socket.async_read_some, handing each chunk to the
//   sink and completing when the sink refuses one, max_chunks_in_a_row full ones were taken
//   in a row (chunk_sink.hpp), or the read fails;
// - with no buffer of its own (the scratch read), it waits with socket.async_wait(wait_read),
//   which holds no buffer while the connection is idle, then reads with recv(MSG_DONTWAIT)
//   into the thread's scratch buffer until the socket is empty (EAGAIN) before waiting again,
//   or completes after a run of max_chunks_in_a_row chunks or max_bytes_in_a_row bytes.
// Either way nothing parks on a socket that already holds data, a FIN or a reset: Asio tries
// each async_read_some at once unless the last read returned 0 bytes, and async_wait re-arms
// the descriptor in epoll (EPOLL_CTL_MOD), which reports what is already there. So
// cancel_read() has nothing to do here. The sink runs on the thread that runs the handler's
// executor.
#pragma once

#include <cstddef>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include "pier/net/byte_stream.hpp"
#include "pier/net/chunk_sink.hpp"
#include "pier/net/scratch_buffer.hpp"

namespace pier::net::edge_read_detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// One recv(MSG_DONTWAIT) into `buffer`: false when the socket is empty (EAGAIN); else true
/// with `ec` (EOF as asio::error::eof) and `bytes` set.
bool receive_now(stream_socket& socket, asio::mutable_buffer buffer, boost::system::error_code& ec,
                 std::size_t& bytes);

/// The composed read behind reader_path::async_read.
class portable_read_op {
public:
    portable_read_op(stream_socket& socket, asio::mutable_buffer buffer, chunk_sink sink)
        : socket_(socket), buffer_(buffer), sink_(sink) {}

    /// Start: every cancellation type ends the read, as a cancelled async_read_some.
    template <typename Self>
    void operator()(Self& self) {
        self.reset_cancellation_state(asio::enable_total_cancellation());
        if (through_scratch()) {
            socket_.async_wait(tcp::socket::wait_read, std::move(self));
        } else {
            socket_.async_read_some(buffer_, std::move(self));
        }
    }

    /// A read into the operation's own buffer completed.
    template <typename Self>
    void operator()(Self& self, boost::system::error_code ec, std::size_t bytes) {
        if (ec) return self.complete(ec, 0);
        if (!taken(bytes, buffer_)) return self.complete(ec, bytes);
        // A full chunk: more is likely waiting. Read on, up to max_chunks_in_a_row in a row.
        full_in_a_row_ = bytes == buffer_.size() ? full_in_a_row_ + 1 : 0;
        if (full_in_a_row_ == max_chunks_in_a_row) return self.complete(ec, bytes);
        if (self.cancelled() != asio::cancellation_type::none) {
            return self.complete(asio::error::operation_aborted, 0);
        }
        socket_.async_read_some(buffer_, std::move(self));
    }

    /// The socket became readable (or failed): read the scratch buffer until it is empty.
    template <typename Self>
    void operator()(Self& self, boost::system::error_code ec) {
        if (ec) return self.complete(ec, 0);
        std::size_t forwarded = 0;
        for (unsigned chunks = 1;; ++chunks) {
            const auto buffer = scratch_buffer(buffer_.size());
            if (buffer.size() == 0) return self.complete(asio::error::no_memory, 0);
            std::size_t bytes = 0;
            if (!receive_now(socket_, buffer, ec, bytes)) break;  // empty: wait again
            if (ec) return self.complete(ec, 0);
            forwarded += bytes;
            if (!taken(bytes, buffer) || chunks == max_chunks_in_a_row ||
                forwarded >= max_bytes_in_a_row) {
                return self.complete(ec, bytes);
            }
        }
        if (self.cancelled() != asio::cancellation_type::none) {
            return self.complete(asio::error::operation_aborted, 0);
        }
        socket_.async_wait(tcp::socket::wait_read, std::move(self));
    }

private:
    bool through_scratch() const { return buffer_.data() == nullptr; }

    /// Hands a chunk read into `buffer` to the sink: whether it took it (a plain read has no
    /// sink: it completes with every chunk).
    bool taken(std::size_t bytes, asio::mutable_buffer buffer) {
        if (sink_.take == nullptr) return false;
        return sink_.take(sink_.context, static_cast<const char*>(buffer.data()), bytes, false);
    }

    stream_socket& socket_;
    asio::mutable_buffer buffer_;  // data() null: the scratch buffer, at most size() bytes
    chunk_sink sink_;
    unsigned full_in_a_row_ = 0;  ///< full chunks taken in a row (own buffer)
};

/// The portable path's reads, behind edge_reader (which documents them).
class reader_path {
public:
    explicit reader_path(byte_stream& stream) : stream_(stream) {}

    byte_stream& stream() const { return stream_; }

    /// `buffer.data()` null: read through the thread's scratch buffer. `read_now` changes
    /// nothing here: every read is tried first.
    template <typename CompletionToken>
    auto async_read(asio::mutable_buffer buffer, bool /*read_now*/, chunk_sink sink,
                    CompletionToken&& token) {
        return asio::async_compose<CompletionToken, void(boost::system::error_code, std::size_t)>(
            portable_read_op(stream_.tcp_socket(), buffer, sink), token, stream_.tcp_socket());
    }

    static void cancel_read(stream_socket& /*socket*/) {}

private:
    byte_stream& stream_;
};

}  // namespace pier::net::edge_read_detail
