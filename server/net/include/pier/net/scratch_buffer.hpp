// The per-thread buffer that an edge_reader read with no buffer of its own reads into
// (edge_reader::async_forward_through_scratch): an idle connection then holds no read buffer.
#pragma once

#include <cstddef>

#include <boost/asio/buffer.hpp>

namespace pier::net::edge_read_detail {

/// The calling thread's scratch buffer, at least `size` bytes (empty if that much memory
/// cannot be had). Its contents last until the thread's next read through it.
boost::asio::mutable_buffer scratch_buffer(std::size_t size) noexcept;

}  // namespace pier::net::edge_read_detail
