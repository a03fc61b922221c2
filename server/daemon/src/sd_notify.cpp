#include "pier/daemon/sd_notify.hpp"

#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace pier::daemon {
namespace {

std::optional<unsigned long long> env_number(const char* name) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return std::nullopt;
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (*end != '\0') return std::nullopt;
    return value;
}

}  // namespace

sd_notifier sd_notifier::from_environment() {
    sd_notifier out;
    // WATCHDOG_PID names the process meant to ping; a child that inherited the variable is not.
    const auto pid = env_number("WATCHDOG_PID");
    const auto usec = env_number("WATCHDOG_USEC");
    if (usec && *usec > 0 && (!pid || *pid == static_cast<unsigned long long>(::getpid()))) {
        out.watchdog_ = std::chrono::microseconds(*usec);
    }

    const char* path = std::getenv("NOTIFY_SOCKET");
    if (path == nullptr || (path[0] != '/' && path[0] != '@')) return out;
    const std::size_t length = std::strlen(path);
    if (length >= sizeof(out.address_.sun_path)) return out;
    out.address_.sun_family = AF_UNIX;
    std::memcpy(out.address_.sun_path, path, length);
    if (path[0] == '@') out.address_.sun_path[0] = '\0';  // abstract namespace
    out.address_length_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
    out.fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return out;
}

sd_notifier::sd_notifier(sd_notifier&& other) noexcept
    : fd_(other.fd_),
      address_(other.address_),
      address_length_(other.address_length_),
      watchdog_(other.watchdog_) {
    other.fd_ = -1;
}

sd_notifier::~sd_notifier() {
    if (fd_ >= 0) ::close(fd_);
}

bool sd_notifier::notify(std::string_view state) const {
    if (fd_ < 0) return false;
    // Never blocks: the receiver's queue holds few datagrams (net.unix.max_dgram_qlen, 10 by
    // default), and a main thread stuck here would not see SIGTERM. A dropped WATCHDOG=1 is
    // replaced by the next one; a dropped READY or STOPPING is reported by the caller.
    const auto sent = ::sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                               reinterpret_cast<const sockaddr*>(&address_), address_length_);
    return sent == static_cast<ssize_t>(state.size());
}

}  // namespace pier::daemon
