#include "pier/daemon/signals.hpp"

#include <csignal>
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

}  // namespace pier::daemon
