#include "pier/net/scratch_buffer.hpp"

#include <algorithm>
#include <exception>
#include <vector>

namespace pier::net::edge_read_detail {

boost::asio::mutable_buffer scratch_buffer(std::size_t size) noexcept {
    thread_local std::vector<char> scratch;
    if (scratch.size() < size) {
        try {
            scratch.resize(size);
        } catch (const std::exception&) {  // bad_alloc (this is noexcept: a reactor operation)
            // Read in smaller pieces with what there is (none at all: the read fails).
        }
    }
    return boost::asio::buffer(scratch.data(), std::min(size, scratch.size()));
}

}  // namespace pier::net::edge_read_detail
