// Process signals the daemon acts on, received synchronously by the main thread.
//
// block_daemon_signals() must run before any other thread starts: threads inherit the mask, so
// SIGINT, SIGTERM and SIGHUP then reach only the thread that calls wait_for_signal().
#pragma once

#include <chrono>

namespace pier::daemon {

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and threads it creates later).
void block_daemon_signals();

/// Waits for one of the blocked signals and returns its number.
int wait_for_signal();

/// Like wait_for_signal(), but returns 0 once `timeout` has passed, or sooner if another
/// signal interrupts the wait (the main thread's other duty, the watchdog heartbeat, runs
/// between waits on a schedule of its own: signal_loop.hpp).
int wait_for_signal(std::chrono::nanoseconds timeout);

}  // namespace pier::daemon
