#include "pier/daemon/second_signal.hpp"

#include <csignal>
#include <cstring>
#include <utility>

#include <spdlog/spdlog.h>

#include "pier/daemon/signals.hpp"

namespace pier::daemon {

second_signal::second_signal(wait_function wait)
    : wait_(wait ? std::move(wait) : wait_function([](std::chrono::nanoseconds timeout) {
          return wait_for_signal(timeout);
      })),
      thread_([this](const std::stop_token& stop) { run(stop); }) {}

second_signal::~second_signal() = default;  // the jthread requests its stop and joins

void second_signal::run(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
        const int signal_number = wait_(poll_period);
        if (signal_number == SIGTERM || signal_number == SIGINT) {
            spdlog::info("received signal={} again, ending the drain now",
                         ::strsignal(signal_number));
            arrived_.request_stop();
            return;
        }
        if (signal_number == SIGHUP) spdlog::info("received signal=Hangup while stopping, ignored");
    }
}

}  // namespace pier::daemon
