#include "pier/daemon/signals.hpp"

#include <cerrno>
#include <csignal>
#include <ctime>
#include <system_error>

#include <pthread.h>

namespace pier::daemon {
namespace {

sigset_t daemon_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    return set;
}

}  // namespace

void block_daemon_signals() {
    const sigset_t set = daemon_signals();
    if (const int err = pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0) {
        throw std::system_error(err, std::generic_category(), "pthread_sigmask");
    }
}

int wait_for_signal() {
    const sigset_t set = daemon_signals();
    int signal_number = 0;
    if (const int err = sigwait(&set, &signal_number); err != 0) {
        throw std::system_error(err, std::generic_category(), "sigwait");
    }
    return signal_number;
}

int wait_for_signal(std::chrono::nanoseconds timeout) {
    const sigset_t set = daemon_signals();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    const timespec wait{static_cast<time_t>(seconds.count()),
                        static_cast<long>((timeout - seconds).count())};
    const int signal_number = sigtimedwait(&set, nullptr, &wait);
    if (signal_number > 0) return signal_number;
    // EINTR: another signal (not one of ours) interrupted the wait. Not restarted with the
    // whole timeout, which would push the heartbeat back: the caller waits again for whatever
    // time its schedule has left (signal_loop.hpp).
    if (errno == EAGAIN || errno == EINTR) return 0;
    throw std::system_error(errno, std::generic_category(), "sigtimedwait");
}

}  // namespace pier::daemon
