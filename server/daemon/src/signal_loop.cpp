#include "pier/daemon/signal_loop.hpp"

#include <algorithm>
#include <csignal>

namespace pier::daemon {

int run_signal_loop(std::optional<signal_loop_hooks::clock::duration> beat_period,
                    const signal_loop_hooks& hooks) {
    using clock = signal_loop_hooks::clock;
    std::optional<clock::time_point> next_beat;
    if (beat_period) next_beat = hooks.now();
    for (;;) {
        std::optional<clock::duration> wait;
        if (next_beat) {
            // Checked before every wait, so a beat that fell due during a reload runs before
            // the next signal is taken, however many are pending.
            if (const auto now = hooks.now(); now >= *next_beat) {
                hooks.beat();
                // A whole period after this beat, however late it ran: the workers get a full
                // period to answer it (heartbeat.hpp), and beats missed during a long reload are
                // not made up in a burst that no worker could answer in time.
                next_beat = now + *beat_period;
            }
            wait = std::max(clock::duration::zero(), *next_beat - hooks.now());
        }
        const int signal_number = hooks.wait_for_signal(wait);
        if (signal_number == 0) continue;
        if (signal_number != SIGHUP) return signal_number;
        hooks.reload();
    }
}

}  // namespace pier::daemon
