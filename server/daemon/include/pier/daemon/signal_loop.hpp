// The main thread's loop while pierd serves: it waits for SIGHUP (reload), SIGINT or SIGTERM
// (shutdown) and, when systemd asked for a watchdog, runs the heartbeat between them.
//
// The heartbeat keeps a schedule of its own: the next beat is a deadline on the steady clock,
// each wait for a signal lasts only until that deadline, and a beat that fell due while a signal
// was handled (a reload reads and applies a file) runs before the next wait. So the beats keep
// their pace however often signals arrive: a timeout restarted after every signal would never
// expire under SIGHUPs more frequent than the period, and systemd would kill a healthy daemon.
// Only one reload lasting most of the watchdog interval (no beat runs during it) could still
// let systemd's deadline pass.
//
// The waiting, the beat, the reload and the clock are passed in, so a unit test drives the loop
// with a fake clock and scripted signals. Threads: the calling thread only (pierd's main thread,
// the one block_daemon_signals() left able to receive the signals).
#pragma once

#include <chrono>
#include <functional>
#include <optional>

namespace pier::daemon {

struct signal_loop_hooks {
    using clock = std::chrono::steady_clock;

    /// Waits for a daemon signal at most the given time (without one, indefinitely); returns its
    /// number, or 0 when none came (the time passed, or the wait was interrupted).
    std::function<int(std::optional<clock::duration>)> wait_for_signal;
    /// The watchdog's duty, run when a beat is due (heartbeat.hpp, then WATCHDOG=1).
    std::function<void()> beat;
    /// SIGHUP's work (reload.hpp).
    std::function<void()> reload;
    /// The clock the beats are scheduled on.
    std::function<clock::time_point()> now = [] { return clock::now(); };
};

/// Runs until a signal other than SIGHUP arrives and returns its number. With `beat_period`,
/// beat() runs at once and then again each time a period has passed since the previous beat,
/// whatever signals arrive meanwhile; without it, beat() never runs and the waits are unbounded.
int run_signal_loop(std::optional<signal_loop_hooks::clock::duration> beat_period,
                    const signal_loop_hooks& hooks);

}  // namespace pier::daemon
