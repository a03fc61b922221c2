// The worker pool: N workers, each owning one io_context (its reactor) run by its own thread.
//
// This is the scheduler seam. Connection code asks the pool for a home (acquire()) and receives
// a worker_lease: the executor its socket and timers live on, and the executor its coroutine runs
// on. It never names a thread or an io_context, so a different scheduler (work stealing) can
// replace what the lease hands out without touching connections or handlers.
//
// Two schedulers, chosen at construction (runtime.scheduler):
// - work_stealing (scheduler.hpp): each connection's coroutine runs on its own serializer
//   (serializer.hpp) over the work-stealing scheduler; idle workers take queued work and serve a
//   stuck worker's reactor.
// - pinned: a connection's coroutine runs on its socket's own io_context, one thread per
//   context, so each connection is implicitly serialized and never moves.
//
// Thread-safety: acquire(), size() and the lease are safe from any thread. start() and stop()
// are called by the owner (the server) from one thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "pier/config/config.hpp"
#include "pier/runtime/scheduler.hpp"

namespace pier::runtime {

namespace asio = boost::asio;

class io_pool;

/// A connection's claim on one worker: counted in that worker's live connections until the
/// lease is destroyed. Move-only.
class worker_lease {
public:
    worker_lease() = default;
    worker_lease(worker_lease&& other) noexcept;
    worker_lease& operator=(worker_lease&& other) noexcept;
    worker_lease(const worker_lease&) = delete;
    worker_lease& operator=(const worker_lease&) = delete;
    ~worker_lease();

    /// Where the connection's socket and timers are created (its reactor).
    asio::io_context::executor_type io_executor() const;
    /// Where the connection's coroutine runs.
    asio::any_io_executor task_executor() const;
    /// Index of the home worker, for logs and tests.
    std::size_t worker_index() const;

private:
    friend class io_pool;
    struct worker;
    worker_lease(worker* w, bool counted)
        : bits_(reinterpret_cast<std::uintptr_t>(w) | (counted ? 1u : 0u)) {}
    void release();
    worker* target() const { return reinterpret_cast<worker*>(bits_ & ~std::uintptr_t{1}); }
    /// Whether this lease is one of target()->live.
    bool counted() const { return (bits_ & 1u) != 0; }

    /// The worker's address, and in its low bit whether the lease is counted: one word, since
    /// every connection holds a lease for its whole life (bench/README.md). 0: no worker.
    std::uintptr_t bits_ = 0;
};

class io_pool {
public:
    /// `threads` workers (at least 1). Threads start in start().
    explicit io_pool(std::size_t threads,
                     config::scheduler_kind kind = config::scheduler_kind::work_stealing,
                     scheduler_options options = {}, bool busy_polling = false);
    ~io_pool();
    io_pool(const io_pool&) = delete;
    io_pool& operator=(const io_pool&) = delete;

    /// Starts one thread per worker. Threads inherit the caller's signal mask: the daemon blocks
    /// its signals first so only the main thread receives them.
    void start();

    /// Lets each io_context run out of work, then joins the threads. Call after every task
    /// running on the pool has finished (the server's shutdown protocol guarantees it).
    void stop();

    /// Stops every io_context at once, abandoning queued work, and joins the threads. For a
    /// shutdown whose tasks did not end; their state is destroyed with the pool.
    void abort();

    std::size_t size() const { return workers_.size(); }
    config::scheduler_kind kind() const {
        return scheduler_ ? config::scheduler_kind::work_stealing : config::scheduler_kind::pinned;
    }
    /// The work-stealing scheduler, or null when pinned (metrics, tests).
    scheduler* stealing_scheduler() { return scheduler_.get(); }

    /// A home for a new connection: the worker with the fewest live connections.
    worker_lease acquire();

    /// A lease on worker `worker_index % size()` that does not count as a connection: for
    /// long-lived tasks such as accept loops.
    worker_lease acquire_uncounted(std::size_t worker_index);

    /// Live connections homed on worker i (tests and metrics).
    std::size_t live_connections(std::size_t worker_index) const;

    /// The worker whose own thread is calling, or -1 on any other thread. A worker serving a
    /// stuck worker's reactor is still itself (the watchdog heartbeat relies on it).
    int current_worker() const;

    /// Queues `f` on worker i's reactor (it runs there, or on a worker serving that reactor).
    void post(std::size_t worker_index, std::function<void()> f);

private:
    /// runtime.busy_polling: see io_pool.cpp.
    static void keep_polling(worker_lease::worker& w);

    std::vector<std::unique_ptr<worker_lease::worker>> workers_;
    std::unique_ptr<scheduler> scheduler_;  ///< null when pinned
    std::vector<std::thread> threads_;      ///< pinned only; the scheduler runs its own
    const bool busy_polling_;               ///< runtime.busy_polling: workers never sleep
};

}  // namespace pier::runtime
