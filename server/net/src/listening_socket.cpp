#include "pier/net/listening_socket.hpp"

#include <sys/socket.h>

#include <cerrno>

#include <fmt/format.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>

namespace pier::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

[[noreturn]] void fail(std::string_view who, std::string_view step,
                       const config::listen_address& address, const boost::system::error_code& ec) {
    throw bind_error(
        fmt::format("{}: cannot {} {}: {}", who, step, address.to_string(), ec.message()));
}

}  // namespace

void open_listening_socket(tcp::acceptor& acceptor, const config::listen_address& address,
                           const listen_options& options, std::string_view who) {
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(address.host, ec);
    if (ec) fail(who, "parse address", address, ec);
    const tcp::endpoint endpoint(ip, address.port);
    acceptor.open(endpoint.protocol(), ec);
    if (ec) fail(who, "open socket for", address, ec);
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (ec) fail(who, "configure", address, ec);
    if (options.ipv6_only && ip.is_v6()) {
        acceptor.set_option(asio::ip::v6_only(true), ec);
        if (ec) fail(who, "configure", address, ec);
    }
    acceptor.bind(endpoint, ec);
    if (ec) fail(who, "bind", address, ec);
    acceptor.listen(options.backlog, ec);
    if (ec) fail(who, "listen on", address, ec);
    acceptor.non_blocking(true, ec);
    if (ec) fail(who, "configure", address, ec);
}

void adopt_listening_socket(tcp::acceptor& acceptor, int fd, const config::listen_address& address,
                            std::string_view who) {
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
        fail(who, "read the inherited socket of", address,
             {errno, boost::system::system_category()});
    }
    boost::system::error_code ec;
    acceptor.assign(bound.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
    if (ec) fail(who, "adopt the inherited socket for", address, ec);
    acceptor.non_blocking(true, ec);
    if (ec) fail(who, "configure", address, ec);
}

}  // namespace pier::net
