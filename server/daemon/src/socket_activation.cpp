#include "pier/daemon/socket_activation.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <boost/asio/ip/address.hpp>

namespace pier::daemon {
namespace {

constexpr int first_listen_fd = 3;  // SD_LISTEN_FDS_START

std::optional<long> env_long(const char* name) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return std::nullopt;
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (*end != '\0') return std::nullopt;
    return value;
}

/// The socket's bound address, if it is an IPv4 or IPv6 one.
std::optional<std::pair<boost::asio::ip::address, std::uint16_t>> bound_address(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
    if (storage.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
        return std::pair{
            boost::asio::ip::address(boost::asio::ip::address_v4(ntohl(in->sin_addr.s_addr))),
            ntohs(in->sin_port)};
    }
    if (storage.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
        boost::asio::ip::address_v6::bytes_type bytes;
        std::memcpy(bytes.data(), in6->sin6_addr.s6_addr, bytes.size());
        return std::pair{boost::asio::ip::address(boost::asio::ip::address_v6(bytes)),
                         ntohs(in6->sin6_port)};
    }
    return {};
}

}  // namespace

std::vector<inherited_socket> take_inherited_sockets() {
    std::vector<inherited_socket> out;
    const auto pid = env_long("LISTEN_PID");
    const auto count = env_long("LISTEN_FDS");
    const char* names = std::getenv("LISTEN_FDNAMES");
    const std::string names_text = names != nullptr ? names : "";
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    if (!pid || !count || *pid != static_cast<long>(::getpid()) || *count <= 0) return out;

    std::size_t start = 0;
    for (long i = 0; i < *count; ++i) {
        inherited_socket s;
        s.fd = first_listen_fd + static_cast<int>(i);
        const auto colon = names_text.find(':', start);
        s.name = names_text.substr(start,
                                   colon == std::string::npos ? std::string::npos : colon - start);
        start = colon == std::string::npos ? names_text.size() : colon + 1;
        ::fcntl(s.fd, F_SETFD, FD_CLOEXEC);
        out.push_back(std::move(s));
    }
    return out;
}

std::optional<std::size_t> match_inherited_socket(const config::listener_config& cfg,
                                                  const std::vector<inherited_socket>& sockets) {
    for (std::size_t i = 0; i < sockets.size(); ++i) {
        if (sockets[i].fd >= 0 && sockets[i].name == cfg.name) return i;
    }
    if (cfg.listen.port == 0) return std::nullopt;
    boost::system::error_code ec;
    const auto wanted = boost::asio::ip::make_address(cfg.listen.host, ec);
    if (ec) return std::nullopt;
    for (std::size_t i = 0; i < sockets.size(); ++i) {
        if (sockets[i].fd < 0) continue;
        const auto bound = bound_address(sockets[i].fd);
        if (bound && bound->first == wanted && bound->second == cfg.listen.port) return i;
    }
    return std::nullopt;
}

}  // namespace pier::daemon
