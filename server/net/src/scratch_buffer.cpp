#include "pier/net/scratch_buffer.hpp"

#include <algorithm>
#include <exception>
#include <memory>

namespace pier::net::edge_read_detail::scratch {

constinit thread_local char* data = nullptr;
constinit thread_local std::size_t capacity = 0;

namespace {
/// Owns `data`: freed when the thread ends.
thread_local std::unique_ptr<char[]> owner;
}  // namespace

boost::asio::mutable_buffer grow(std::size_t size) noexcept {
    // Not zero-filled (not a std::vector): a page of it becomes resident only when a read
    // writes there, so after idle connections that each sent a byte it holds one page, not
    // max_buffer (64KiB by default) per worker thread.
    try {
        owner = std::make_unique_for_overwrite<char[]>(size);
        data = owner.get();
        capacity = size;
    } catch (const std::exception&) {  // bad_alloc (this is noexcept: a reactor operation)
        // Read in smaller pieces with what there is (none at all: the read fails).
    }
    return boost::asio::buffer(data, std::min(size, capacity));
}

}  // namespace pier::net::edge_read_detail::scratch
