// The per-thread buffer that an edge_reader read with no buffer of its own reads into
// (edge_reader::async_forward_through_scratch): an idle connection then holds no read buffer.
#pragma once

#include <cstddef>

#include <boost/asio/buffer.hpp>

namespace pier::net::edge_read_detail {

namespace scratch {
// The calling thread's buffer. Constant-initialized, so reading them needs no TLS wrapper
// call: scratch_buffer() runs once per read, inside the reactor.
extern constinit thread_local char* data;
extern constinit thread_local std::size_t capacity;
/// The buffer made at least `size` bytes, or as large as memory allowed.
boost::asio::mutable_buffer grow(std::size_t size) noexcept;
}  // namespace scratch

/// The calling thread's scratch buffer, `size` bytes (fewer, or none, if that much memory
/// cannot be had). Its contents last until the thread's next read through it.
inline boost::asio::mutable_buffer scratch_buffer(std::size_t size) noexcept {
    if (size <= scratch::capacity) return {scratch::data, size};
    return scratch::grow(size);
}

}  // namespace pier::net::edge_read_detail
