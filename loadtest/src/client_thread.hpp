// A pierload client thread, as the driver (runner.cpp) sees it: it runs a share of the
// connection slots on its own thread, hands over what it measured once a second, and stops
// when told. Two implementations: Asio sessions (every mode) and a plain epoll loop
// (closed-loop echo and line, the modes whose client CPU per request must stay below the
// server's). Private to the runner.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>

#include "pierload/stats.hpp"
#include "session.hpp"

namespace pierload::detail {

/// Counts connection slots still running across all threads, so the driver can end a
/// --requests run as soon as the last one finishes.
class session_counter {
public:
    void add(std::size_t n) {
        std::lock_guard lock(mutex_);
        running_ += n;
    }
    void done() {
        std::lock_guard lock(mutex_);
        if (--running_ == 0) all_done_.notify_all();
    }
    /// Waits until `deadline` or until no slot runs; true when none runs.
    bool wait_until(steady::time_point deadline) {
        std::unique_lock lock(mutex_);
        return all_done_.wait_until(lock, deadline, [this] { return running_ == 0; });
    }

private:
    std::mutex mutex_;
    std::condition_variable all_done_;
    std::size_t running_ = 0;
};

class client_thread {
public:
    virtual ~client_thread() = default;
    /// Starts the thread and its slots.
    virtual void start() = 0;
    /// Hands over the interval recorded since the last call and starts a new one (taken on
    /// the client thread, so no slot is mid-record).
    virtual interval_stats take_interval() = 0;
    /// Ends every slot (run_context::stopping is already set) and lets the thread finish.
    virtual void stop() = 0;
    /// After stop(): waits for the thread, then returns what it recorded since the last take.
    virtual interval_stats join() = 0;
};

/// Slots [first_slot, first_slot + slots) on Asio sessions: every mode.
std::unique_ptr<client_thread> make_asio_client_thread(run_context& run, session_counter& counter,
                                                       std::size_t first_slot, std::size_t slots);

/// Whether the epoll loop can run `opts`: closed-loop (no --rate) echo and line.
bool epoll_client_supports(const options& opts);

/// Slots [first_slot, first_slot + slots) on one epoll loop; requires epoll_client_supports().
std::unique_ptr<client_thread> make_epoll_client_thread(run_context& run, session_counter& counter,
                                                        std::size_t first_slot, std::size_t slots);

}  // namespace pierload::detail
