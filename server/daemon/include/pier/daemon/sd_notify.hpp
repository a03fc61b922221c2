// systemd's readiness protocol, spoken directly (no libsystemd): state lines sent as datagrams to
// the AF_UNIX socket named by $NOTIFY_SOCKET (sd_notify(3)). pierd sends READY=1 once its
// listeners accept, STOPPING=1 when a shutdown begins, STATUS= lines for `systemctl status`,
// and WATCHDOG=1 while every worker keeps answering (heartbeat.hpp).
//
// Outside systemd (no NOTIFY_SOCKET) every call is a no-op. Threads: notify() from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <sys/socket.h>
#include <sys/un.h>

namespace pier::daemon {

class sd_notifier {
public:
    /// Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID. A socket path starting with '@' is
    /// an abstract address.
    static sd_notifier from_environment();
    sd_notifier() = default;
    ~sd_notifier();
    sd_notifier(sd_notifier&& other) noexcept;
    sd_notifier& operator=(sd_notifier&&) = delete;
    sd_notifier(const sd_notifier&) = delete;
    sd_notifier& operator=(const sd_notifier&) = delete;

    bool enabled() const { return fd_ >= 0; }
    /// Sends `state` ("READY=1\nSTATUS=..."). False if it could not be sent (or disabled).
    bool notify(std::string_view state) const;

    /// How often systemd wants WATCHDOG=1 (WatchdogSec=), if it asked this process for it.
    std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

private:
    int fd_ = -1;
    sockaddr_un address_{};
    socklen_t address_length_ = 0;
    std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace pier::daemon
