// The watchdog's evidence that pierd still works: a beat every worker must run on its own
// thread. systemd restarts a service whose WATCHDOG=1 pings stop (WatchdogSec=); pierd pings
// only after every worker has run the previous beat itself, so one stuck worker stops the
// pings. A beat run by another worker serving a stuck one's reactor does not count: that
// worker is still stuck.
//
// So WatchdogSec must exceed the longest a worker may legitimately sit in one task (a
// synthetic request's `cpu` is capped at 10s): systemd/pier.service sets 30s.
//
// Threads: beat() from one thread (pierd's main thread); the beats run on the workers.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "pier/runtime/io_pool.hpp"

namespace pier::daemon {

class heartbeat {
public:
    explicit heartbeat(runtime::io_pool& pool);

    /// True when every worker has run the beat of the previous call on its own thread (false
    /// on the first call). Then posts the next beat to every worker.
    bool beat();

    /// Workers that had not run the previous beat at the last beat() (for the log).
    const std::vector<std::size_t>& late_workers() const { return late_; }

private:
    /// Shared with the beats in flight, which may outlive this object in a worker's queue.
    struct state {
        explicit state(std::size_t workers) : reached(workers) {}
        std::vector<std::atomic<std::uint64_t>> reached;  ///< the last round each worker ran
    };

    runtime::io_pool& pool_;
    std::shared_ptr<state> state_;
    std::uint64_t round_ = 0;
    std::vector<std::size_t> late_;
};

}  // namespace pier::daemon
