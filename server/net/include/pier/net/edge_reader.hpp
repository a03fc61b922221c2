// Reads from a byte stream like async_read_some, and can hand what it reads to a sink without
// completing (a forwarding read): how the echo and the proxy's relay move bytes. Both paths
// below read the stream's TCP socket; a TLS stream (byte_stream.hpp) will decrypt each chunk
// before its sink sees it.
//
// Forwarding reads (async_forward): each chunk read is handed to a chunk_sink, and while the
// sink takes every chunk the operation goes on reading instead of completing. The caller's
// coroutine runs only when something needs deciding: EOF, an error, a chunk the sink did not
// take (backpressure), a cancel, or a stream that has been read for a run (chunk_sink.hpp:
// max_chunks_in_a_row reads or max_bytes_in_a_row bytes) without pausing, so that the
// worker's other connections get their turn.
//
// Two implementations with this one interface, chosen when pier is configured
// (server/edge_reader.cmake):
// - the reactor path (edge_reader_reactor.hpp), on Asio's reactor internals: a read that
//   drains the socket is not tried again until epoll reports new data, and a chunk the sink
//   takes costs one recv() and nothing else (no completion, no coroutine resumed). Built only
//   with a Boost version whose internals it was checked against; server/edge_reader.cmake
//   lists them.
// - the portable path (edge_reader_portable.hpp), on Asio's public operations: every other
//   Boost version, or -DPIER_EDGE_READER_CHOICE=portable. Same guarantees, at the cost of a
//   completion per chunk and a recv() that finds the socket empty before each wait
//   (bench/README.md gives the measured cost).
//
// Completion through the handler's executor, cancellation (cancel(), close(), a cancellation
// slot: total, partial or terminal), errors and EOF are as async_read_some's (a cancelled
// forwarding read reports 0 bytes: what its sink took is the sink's to count).
//
// Threads: as for the socket's own operations (one read at a time, on the socket's executor).
// Where a sink runs: chunk_sink.hpp.
#pragma once

#include <cassert>
#include <cstddef>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "pier/net/byte_stream.hpp"
#include "pier/net/chunk_sink.hpp"
#include "pier/net/tls_operations.hpp"

#if defined(PIER_EDGE_READER_REACTOR)
#include "pier/net/edge_reader_reactor.hpp"
#else
#include "pier/net/edge_reader_portable.hpp"
#endif

namespace pier::net {

class edge_reader {
public:
    /// Whether this build reads through Asio's reactor internals (else the portable path).
#if defined(PIER_EDGE_READER_REACTOR)
    static constexpr bool on_reactor = true;
#else
    static constexpr bool on_reactor = false;
#endif

    /// `stream` (open, connected) must outlive the reader and keep its executor.
    explicit edge_reader(byte_stream& stream) : path_(stream) {}

    /// Reads at least one byte into `buffer` (not empty: a 0-byte read would report EOF),
    /// like socket.async_read_some. `read_now`: try the socket first even if the last read
    /// drained it (after cancel_read).
    template <typename CompletionToken>
    auto async_read_some(boost::asio::mutable_buffer buffer, bool read_now,
                         CompletionToken&& token) {
        assert(buffer.size() > 0);
        return read(buffer, read_now, chunk_sink{}, std::forward<CompletionToken>(token));
    }

    /// As async_read_some, but every chunk read is first handed to `sink` (see chunk_sink),
    /// and a chunk it takes does not complete the operation: it reads on while more is
    /// waiting, and waits for more once the socket is drained. Completes on an error, EOF or a
    /// cancel (with 0 bytes; earlier chunks may have been handed over), with a chunk the sink
    /// refused, or with the last chunk of a run (chunk_sink.hpp) taken one after another
    /// without the socket draining (taken: the sink's own state says).
    template <typename CompletionToken>
    auto async_forward(boost::asio::mutable_buffer buffer, bool read_now, chunk_sink sink,
                       CompletionToken&& token) {
        assert(buffer.size() > 0 && sink.take != nullptr);
        return read(buffer, read_now, sink, std::forward<CompletionToken>(token));
    }

    /// As async_forward, with no buffer held while the read waits: each chunk is read into a
    /// buffer of the thread performing the read (at most `size` bytes), whose contents are gone
    /// once the sink returns. So the sink must keep what it refuses, and the completion's byte
    /// count is all that is left of a chunk. An idle connection then holds no read buffer.
    template <typename CompletionToken>
    auto async_forward_through_scratch(std::size_t size, bool read_now, chunk_sink sink,
                                       CompletionToken&& token) {
        assert(size > 0 && sink.take != nullptr);
        return read(boost::asio::mutable_buffer(nullptr, size), read_now, sink,
                    std::forward<CompletionToken>(token));
    }

    /// Ends the edge_reader read waiting on `stream`, if any, with operation_aborted; other
    /// operations on the stream (a write under way) go on. On the stream's executor. Only the
    /// reactor path can park a read on a socket that already holds a reset (see
    /// edge_reader_reactor.hpp); the portable path tries every read first, so there it does
    /// nothing.
    static void cancel_read(byte_stream& stream) {
        edge_read_detail::reader_path::cancel_read(stream.tcp_socket());
    }

private:
    /// A TLS stream's reads go through OpenSSL (tls_operations.hpp), whichever path this build
    /// has; a TCP stream's through the path.
    template <typename CompletionToken>
    auto read(boost::asio::mutable_buffer buffer, bool read_now, chunk_sink sink,
              CompletionToken&& token) {
        byte_stream& stream = path_.stream();
        if (tls_session* tls = stream.tls()) {
            return boost::asio::async_compose<CompletionToken,
                                              void(boost::system::error_code, std::size_t)>(
                tls_detail::read_op<stream_socket>(*tls, stream.tcp_socket(), buffer, sink), token,
                stream.tcp_socket());
        }
        return path_.async_read(buffer, read_now, sink, std::forward<CompletionToken>(token));
    }

    edge_read_detail::reader_path path_;
};

}  // namespace pier::net
