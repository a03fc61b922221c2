#include "pier/net/edge_reader_portable.hpp"

#include <cerrno>

#include <sys/socket.h>

namespace pier::net::edge_read_detail {

bool receive_now(stream_socket& socket, asio::mutable_buffer buffer, boost::system::error_code& ec,
                 std::size_t& bytes) {
    ssize_t received = 0;
    do {
        received = ::recv(socket.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT);
    } while (received < 0 && errno == EINTR);
    bytes = 0;
    if (received < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        ec = boost::system::error_code(errno, boost::system::system_category());
        return true;
    }
    if (received == 0) {
        ec = asio::error::eof;
        return true;
    }
    ec = {};
    bytes = static_cast<std::size_t>(received);
    return true;
}

}  // namespace pier::net::edge_read_detail
