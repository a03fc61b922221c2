// The work-stealing scheduler: N workers, each running its own io_context (its reactor) on its
// own thread, sharing runnable work the way Tokio's multi-threaded runtime and Go's scheduler do.
//
// Where a task goes (scheduler::schedule):
// - run inline, when it may block (Asio's blocking.possibly: a completion resuming a coroutine)
//   and the caller is a worker of this scheduler not already inside a task: the common case of
//   a socket event resuming its connection on its home worker costs no queue at all;
// - else, on a worker thread: its LIFO slot (the task it runs next: the continuation it just
//   made, hot in cache), the previous LIFO task moving to its bounded local ring;
// - else (another thread): the global inject queue, and a parked worker is woken.
//
// How a worker runs tasks: inside its one long-lived io_context::run() (Asio's per-thread
// recycling caches live in that call), a "tick" handler runs up to `tick_budget` tasks (LIFO at
// most `lifo_limit` times in a row, then the ring; the inject queue first every
// `inject_interval` tasks so it never starves), then yields to the reactor by re-posting
// itself. Out of local work it searches: inject queue, then half of a random victim's ring (at
// most half the workers search at once). Then it parks in its own reactor (epoll_wait).
//
// I/O stealing: a socket's events only become runnable when its home worker runs its reactor,
// so while a worker is stuck in one long task, task stealing finds nothing to take: the
// completions wait in that worker's io_context, which only a thread running it runs. Every
// worker therefore watches the others with a timer of its own (every
// `io_steal_interval` while they make progress, backing off to `max_watch_interval` while
// nothing moves, then sleeping until a worker runs a task again; a busy worker's timer simply
// fires late): it checks whether a worker has sat in
// the same task since the last check, and if so takes that worker's queued tasks (its LIFO slot
// included, which nobody else would run) and runs one ready handler of its io_context itself
// (io_context::poll_one from its thread), then returns to its own reactor; right after a successful
// steal it looks again without waiting. Connections run on serializers (serializer.hpp), so a
// connection's handlers never run on two threads at once wherever they run.
//
// Thread-safety: schedule() from any thread. start()/stop() from one owner thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "pier/runtime/task_queue.hpp"

namespace pier::runtime {

namespace asio = boost::asio;

/// The scheduler's constants. Defaults follow Tokio and Go; tests shrink them.
struct scheduler_options {
    /// Local ring slots, a power of two from 4 to 1024. 256: Tokio's LOCAL_QUEUE_CAPACITY.
    std::size_t local_queue_capacity = 256;
    /// LIFO-slot tasks run in a row before the ring gets a turn, so two tasks that keep
    /// waking each other cannot starve the rest. 3: Tokio's MAX_LIFO_POLLS_PER_TICK.
    unsigned lifo_limit = 3;
    /// Every this many tasks the inject queue is checked first. 61: Go's schedtick % 61.
    unsigned inject_interval = 61;
    /// Tasks per tick before the worker yields to its reactor: bounds how long socket events
    /// wait behind queued work.
    unsigned tick_budget = 61;
    /// How long a worker must sit in one task before an idle worker serves its reactor (it is
    /// seen stuck after one to two intervals). 100us: in bench/skewed_bench.py layout A, 500us
    /// left light requests a p99 of 4.7 ms (1.15x pinned), 100us 2.9 ms (0.72x), and the
    /// balanced echo_bench stayed within noise of pinned (CPU per request 0.89-1.09x).
    std::chrono::microseconds io_steal_interval{100};
    /// While nothing moves, a worker looks at the others less and less often, up to this
    /// interval; after one more quiet look its watch sleeps until a worker runs a task again,
    /// so an idle pier costs no wake-ups.
    std::chrono::microseconds max_watch_interval{10000};
};

/// Per-worker counters, read by tests and (later) the admin endpoint. ordering: relaxed; each
/// is written by its worker (steals and I/O steals by the thief) and only ever summed.
struct worker_counters {
    std::atomic<std::uint64_t> tasks_run{0};      ///< tasks this worker ran (inline or queued)
    std::atomic<std::uint64_t> steals{0};         ///< successful steals from other workers' rings
    std::atomic<std::uint64_t> tasks_stolen{0};   ///< tasks those steals took
    std::atomic<std::uint64_t> io_steals{0};      ///< handlers run for another worker's reactor
    std::atomic<std::uint64_t> parks{0};          ///< times it went to sleep in its reactor
    std::atomic<std::uint64_t> unparks{0};        ///< times it was woken to take work
    std::atomic<std::uint64_t> inject_pushes{0};  ///< tasks it moved to the inject queue (overflow)
};

/// A copy of one worker's counters, plus its current local queue depth.
struct worker_metrics {
    std::uint64_t tasks_run = 0;
    std::uint64_t steals = 0;
    std::uint64_t tasks_stolen = 0;
    std::uint64_t io_steals = 0;
    std::uint64_t parks = 0;
    std::uint64_t unparks = 0;
    std::uint64_t inject_pushes = 0;
    std::size_t local_queue_depth = 0;
};

class scheduler;

/// The scheduler's plain executor: for posts that need no serialization (connections run on a
/// serializer, serializer.hpp). Satisfies Asio's executor concept, so it converts to
/// any_io_executor. One pointer in size, the blocking.never flag in its low bit: a strand over
/// it still fits any_io_executor's inline storage (no heap-allocated, reference-counted
/// target on every copy).
class scheduler_executor {
public:
    scheduler_executor(scheduler& s, bool never_blocking = false)
        : bits_(reinterpret_cast<std::uintptr_t>(&s) | (never_blocking ? 1u : 0u)) {}

    asio::execution_context& query(asio::execution::context_t) const noexcept;
    asio::execution::blocking_t query(asio::execution::blocking_t) const noexcept {
        return never_blocking() ? asio::execution::blocking_t(asio::execution::blocking.never)
                                : asio::execution::blocking_t(asio::execution::blocking.possibly);
    }
    scheduler_executor require(asio::execution::blocking_t::never_t) const noexcept {
        return {owner(), true};
    }
    scheduler_executor require(asio::execution::blocking_t::possibly_t) const noexcept {
        return {owner(), false};
    }
    // Work is tracked by the workers' own guards; relationship and allocator hints change
    // nothing here. Accepting them keeps Asio's prefer() calls valid.
    scheduler_executor prefer(asio::execution::outstanding_work_t::tracked_t) const noexcept {
        return *this;
    }
    scheduler_executor prefer(asio::execution::outstanding_work_t::untracked_t) const noexcept {
        return *this;
    }
    scheduler_executor prefer(asio::execution::relationship_t::fork_t) const noexcept {
        return *this;
    }
    scheduler_executor prefer(asio::execution::relationship_t::continuation_t) const noexcept {
        return *this;
    }
    template <typename Allocator>
    scheduler_executor prefer(const asio::execution::allocator_t<Allocator>&) const noexcept {
        return *this;
    }

    template <typename Function>
    void execute(Function&& f) const;

    friend bool operator==(const scheduler_executor& a, const scheduler_executor& b) noexcept {
        return a.bits_ == b.bits_;
    }
    friend bool operator!=(const scheduler_executor& a, const scheduler_executor& b) noexcept {
        return !(a == b);
    }

private:
    scheduler& owner() const { return *reinterpret_cast<scheduler*>(bits_ & ~std::uintptr_t{1}); }
    bool never_blocking() const { return (bits_ & 1u) != 0; }

    std::uintptr_t bits_;  ///< the scheduler's address | never_blocking
};

class alignas(8) scheduler {
public:
    /// Workers run `reactors` (one each; not owned, must outlive the scheduler). They must use
    /// the default concurrency hint, not 1: idle workers run each other's contexts.
    scheduler(std::vector<asio::io_context*> reactors, scheduler_options options = {});
    ~scheduler();
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;

    /// Starts one thread per worker; each runs its io_context until stop().
    void start();
    /// Lets every worker finish its queued work and its io_context run out, joins the threads,
    /// then discards what is still queued (work queued by nothing that will run again).
    void stop();
    /// Stops every io_context at once (abandoning their queues), joins, discards our queues.
    void abort();

    scheduler_executor executor() { return scheduler_executor(*this); }
    asio::execution_context& context() { return context_; }
    std::size_t size() const { return workers_.size(); }
    worker_metrics metrics(std::size_t worker_index) const;
    /// The worker the calling thread is, or -1 on any other thread (tests, logs).
    int current_worker_index() const;

    /// Runs or queues `t` (see the file comment); `may_run_inline` is Asio's blocking.possibly.
    void schedule(task* t, bool may_run_inline);

    /// Whether the calling thread may run a function inline right now: it is a worker of this
    /// scheduler and not already inside a task.
    bool can_run_inline() const;
    /// Runs `f` inline as a task of the calling worker (its bookkeeping: progress for the
    /// watches, counters). Only when can_run_inline().
    template <typename F>
    void run_inline(F& f) {
        struct scope {
            scheduler& s;
            void* w;
            explicit scope(scheduler& owner) : s(owner), w(owner.enter_inline()) {}
            ~scope() { s.leave_inline(w); }
            scope(const scope&) = delete;
            scope& operator=(const scope&) = delete;
        } in_task(*this);
        f();
    }

private:
    struct worker;

    worker* current_worker() const;
    void* enter_inline();
    void leave_inline(void* w);
    void enter_task(worker& w);
    void leave_task(worker& w);
    void run_worker(worker& w);
    void run_task(worker& w, task* t);
    void push_local(worker& w, task* t);
    void push_inject(task_list batch);
    void ensure_tick(worker& w);
    void tick(worker& w);
    task* next_task(worker& w);
    task* search(worker& w);
    void go_idle(worker& w);
    void arm_watch(worker& w);
    void rearm_lost_watch(worker& w);
    void wake_sleeping_watcher(worker& busy);
    /// Puts w's watch to sleep unless a worker is inside a task; true when it sleeps.
    bool sleep_watch(worker& w);
    /// Whether a worker other than `w` is inside a task right now (a racy snapshot).
    bool any_other_in_task(const worker& w) const;
    void watch(worker& w);
    bool steal_io(worker& w, bool& others_moved);
    /// Wakes one parked worker; false when none was marked parked.
    bool wake_one_parked();
    void discard_queued();

    /// Gives scheduler_executor a context to answer with (Asio asks executors for one).
    class execution_context_holder : public asio::execution_context {};

    scheduler_options options_;
    execution_context_holder context_;
    std::vector<std::unique_ptr<worker>> workers_;
    inject_queue inject_;
    std::atomic<unsigned> searching_{0};
    std::atomic<unsigned> parked_{0};
    std::atomic<unsigned> sleeping_watchers_{0};  ///< workers whose watch stopped (quiet)
    std::atomic<std::size_t> inject_nudge_{0};    ///< round robin of push_inject's nudges
    std::atomic<bool> stopping_{false};
};

template <typename Function>
void scheduler_executor::execute(Function&& f) const {
    using function_type = std::decay_t<Function>;
    owner().schedule(function_task<function_type>::make(std::forward<Function>(f)),
                     !never_blocking());
}

}  // namespace pier::runtime
