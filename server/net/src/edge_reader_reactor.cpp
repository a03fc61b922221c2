#include "pier/net/edge_reader_reactor.hpp"

#include <cerrno>
#include <cstring>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/error.hpp>

// Linux 4.18; glibc's headers may predate it. The control message has the option's number.
#ifndef TCP_INQ
#define TCP_INQ 36
#endif
#ifndef TCP_CM_INQ
#define TCP_CM_INQ TCP_INQ
#endif

namespace pier::net::edge_read_detail {

read_status receive(int descriptor, asio::mutable_buffer buffer, boost::system::error_code& ec,
                    std::size_t& bytes) {
    using op = asio::detail::reactor_op;
    iovec io{buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t received = 0;
    do {
        received = ::recvmsg(descriptor, &message, 0);
    } while (received < 0 && errno == EINTR);
    if (received < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {op::not_done, false};
        ec = boost::system::error_code(errno, boost::system::system_category());
        bytes = 0;
        return {op::done_and_exhausted, false};
    }
    bytes = static_cast<std::size_t>(received);
    if (received == 0) {
        ec = asio::error::eof;
        return {op::done_and_exhausted, false};
    }
    ec = {};
    // Drained, unless the kernel says bytes (or a FIN) are left: a full read may have taken
    // the last byte too.
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == SOL_TCP && c->cmsg_type == TCP_CM_INQ) {
            int left = 0;
            std::memcpy(&left, CMSG_DATA(c), sizeof left);
            return left == 0 ? read_status{op::done_and_exhausted, false}
                             : read_status{op::done, true};
        }
    }
    return {op::done, false};  // no hint: more may be waiting, or not
}

void enable_queue_hint(stream_socket& socket) {
    const int on = 1;
    ::setsockopt(socket.native_handle(), SOL_TCP, TCP_INQ, &on, sizeof on);
}

void reader_path::cancel_read(stream_socket& socket) {
    auto& reactor = asio::use_service<asio::detail::reactor>(
        asio::query(socket.get_executor(), asio::execution::context));
    auto& impl = socket_access::implementation(socket);
    reactor.cancel_ops_by_key(impl.socket_, impl.reactor_data_, asio::detail::reactor::read_op,
                              &socket);
}

}  // namespace pier::net::edge_read_detail
