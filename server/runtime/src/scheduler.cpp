#include "pier/runtime/scheduler.hpp"

#include <stdexcept>

#include <boost/asio/post.hpp>

namespace pier::runtime {
namespace {

/// The worker the calling thread runs (null on other threads). A void pointer: the worker type
/// is private to the scheduler, which checks the owner before using it.
thread_local const void* this_thread_worker = nullptr;

/// Single-writer counter bump: a plain load and store, no locked instruction.
void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace

struct scheduler::worker {
    worker(scheduler& s, std::size_t i, asio::io_context& reactor, std::size_t ring_capacity)
        : owner(s),
          index(i),
          io(reactor),
          guard(reactor.get_executor()),
          ring(ring_capacity),
          watch_timer(reactor),
          random(static_cast<unsigned>(i) + 1) {}

    scheduler& owner;
    const std::size_t index;
    asio::io_context& io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;

    /// The task this worker runs next. Written by its thread; taken by a thief only when it
    /// runs this worker's tick (see tick()).
    std::atomic<task*> lifo{nullptr};
    local_queue ring;
    /// A tick is queued in `io`. Set by whoever posts it, cleared by the tick.
    std::atomic<bool> tick_posted{false};
    /// Bumped when a task starts and when it ends: odd while one runs. A value that stays odd
    /// from one watch to the next means the worker has been stuck in one task that long.
    std::atomic<std::uint64_t> progress{0};
    /// Idle in its reactor (with or without a watch). Written by its thread and by wakers.
    std::atomic<bool> parked{false};

    // Touched by this worker's thread only.
    unsigned depth = 0;                           ///< tasks on this thread's stack
    unsigned lifo_streak = 0;                     ///< LIFO tasks run in a row
    std::uint64_t taken = 0;                      ///< tasks taken by ticks, for inject_interval
    std::chrono::microseconds watch_interval{0};  ///< until the next watch
    /// A thief polling this worker's io_context ran its watch timer's handler: the watch is
    /// re-armed by this worker's own thread at its next task or tick.
    std::atomic<bool> watch_lost{false};
    /// Its watch stopped after nothing moved for a while; the next worker to run a task wakes
    /// it (see enter_task). Set by this worker, cleared by whoever wakes it.
    std::atomic<bool> watch_asleep{false};
    asio::steady_timer watch_timer;
    std::vector<std::uint64_t> seen_progress;  ///< each worker's progress at the last watch
    std::minstd_rand random;

    worker_counters counters;
    std::thread thread;
};

asio::execution_context& scheduler_executor::query(asio::execution::context_t) const noexcept {
    return owner().context();
}

scheduler::scheduler(std::vector<asio::io_context*> reactors, scheduler_options options)
    : options_(options) {
    const auto capacity = options_.local_queue_capacity;
    if (capacity < 4 || capacity > 1024 || (capacity & (capacity - 1)) != 0) {
        throw std::invalid_argument("local_queue_capacity must be a power of two from 4 to 1024");
    }
    if (reactors.empty()) throw std::invalid_argument("a scheduler needs at least one worker");
    for (std::size_t i = 0; i < reactors.size(); ++i) {
        workers_.push_back(std::make_unique<worker>(*this, i, *reactors[i], capacity));
        workers_.back()->seen_progress.resize(reactors.size());
    }
}

scheduler::~scheduler() { stop(); }

void scheduler::start() {
    for (auto& w : workers_) {
        if (w->thread.joinable()) throw std::logic_error("scheduler already started");
    }
    for (auto& w : workers_) {
        // The first tick finds nothing and parks the worker, so it counts as parked (and can
        // be woken) from then on; anything injected before that, it finds itself.
        ensure_tick(*w);
        w->thread = std::thread([this, target = w.get()] { run_worker(*target); });
    }
}

void scheduler::run_worker(worker& w) {
    this_thread_worker = &w;
    // Every worker watches the others for as long as it runs (see watch()).
    if (workers_.size() > 1) {
        w.watch_interval = options_.io_steal_interval;
        arm_watch(w);
    }
    // One long-lived run(): Asio keeps its per-thread recycling caches in this call's frame.
    w.io.run();
    this_thread_worker = nullptr;
}

void scheduler::stop() {
    stopping_.store(true);
    for (auto& w : workers_) {
        // On the worker's own thread: its timer is not thread-safe. The tick drains what is
        // queued for it (and the inject queue) before run() can return.
        asio::post(w->io, [target = w.get()] {
            target->watch_timer.cancel();
            target->guard.reset();
        });
        ensure_tick(*w);
    }
    for (auto& w : workers_) {
        if (w->thread.joinable()) w->thread.join();
    }
    discard_queued();
}

void scheduler::abort() {
    stopping_.store(true);
    for (auto& w : workers_) w->io.stop();
    for (auto& w : workers_) {
        if (w->thread.joinable()) w->thread.join();
    }
    discard_queued();
}

void scheduler::discard_queued() {
    for (auto& w : workers_) {
        if (task* t = w->lifo.exchange(nullptr)) t->discard();
        while (task* t = w->ring.pop()) t->discard();
    }
    inject_.discard_all();
}

worker_metrics scheduler::metrics(std::size_t worker_index) const {
    const worker& w = *workers_.at(worker_index);
    const auto& c = w.counters;
    worker_metrics m;
    m.tasks_run = c.tasks_run.load(std::memory_order_relaxed);
    m.steals = c.steals.load(std::memory_order_relaxed);
    m.tasks_stolen = c.tasks_stolen.load(std::memory_order_relaxed);
    m.io_steals = c.io_steals.load(std::memory_order_relaxed);
    m.parks = c.parks.load(std::memory_order_relaxed);
    m.unparks = c.unparks.load(std::memory_order_relaxed);
    m.inject_pushes = c.inject_pushes.load(std::memory_order_relaxed);
    m.local_queue_depth = w.ring.size();
    return m;
}

scheduler::worker* scheduler::current_worker() const {
    auto* w = static_cast<worker*>(const_cast<void*>(this_thread_worker));
    return (w != nullptr && &w->owner == this) ? w : nullptr;
}

int scheduler::current_worker_index() const {
    const worker* w = current_worker();
    return w == nullptr ? -1 : static_cast<int>(w->index);
}

void scheduler::schedule(task* t, bool may_run_inline) {
    worker* w = current_worker();
    if (w == nullptr) {
        task_list batch;
        batch.push_back(t);
        push_inject(std::move(batch));
        return;
    }
    if (may_run_inline && w->depth == 0) {
        // The fast path: a completion resuming its coroutine on the thread that saw the event.
        run_task(*w, t);
        return;
    }
    push_local(*w, t);
}

void scheduler::run_task(worker& w, task* t) {
    struct in_task {
        scheduler& s;
        worker& w;
        in_task(scheduler& owner, worker& target) : s(owner), w(target) { s.enter_task(w); }
        ~in_task() { s.leave_task(w); }
        in_task(const in_task&) = delete;
        in_task& operator=(const in_task&) = delete;
    } scope(*this, w);
    t->run();
}

bool scheduler::can_run_inline() const {
    const worker* w = current_worker();
    return w != nullptr && w->depth == 0;
}

void* scheduler::enter_inline() {
    worker* w = current_worker();
    enter_task(*w);
    return w;
}

void scheduler::leave_inline(void* w) { leave_task(*static_cast<worker*>(w)); }

void scheduler::enter_task(worker& w) {
    bool was_parked = w.parked.load(std::memory_order_relaxed);
    // Back from idle on its own (an event of its reactor, or stolen I/O). A compare-exchange,
    // only when the flag is set: a waker may be clearing it at the same moment, and only one
    // of the two may count the worker out of parked_.
    if (was_parked &&
        w.parked.compare_exchange_strong(was_parked, false, std::memory_order_acq_rel)) {
        parked_.fetch_sub(1, std::memory_order_relaxed);
    }
    rearm_lost_watch(w);
    ++w.depth;
    // Odd: inside a task. A full barrier (not a plain store) so that the check of sleeping
    // watchers below cannot be ordered before it: see sleep_watch().
    w.progress.fetch_add(1, std::memory_order_seq_cst);
    // After a quiet spell every watch sleeps: this task may be the long one, so wake one.
    if (sleeping_watchers_.load(std::memory_order_seq_cst) > 0) wake_sleeping_watcher(w);
    bump(w.counters.tasks_run);
}

void scheduler::leave_task(worker& w) {
    bump(w.progress);  // even again
    --w.depth;
}

void scheduler::push_local(worker& w, task* t) {
    task* previous = w.lifo.exchange(t, std::memory_order_acq_rel);
    if (previous != nullptr) {
        if (const auto moved = w.ring.push(previous, inject_)) {
            bump(w.counters.inject_pushes, moved);
        }
        // Work another worker could take: wake one if nobody is already looking (Tokio's
        // notify_parked_local).
        if (parked_.load(std::memory_order_seq_cst) > 0 &&
            searching_.load(std::memory_order_relaxed) == 0) {
            wake_one_parked();
        }
    }
    ensure_tick(w);
}

void scheduler::push_inject(task_list batch) {
    inject_.push(std::move(batch));
    // Pairs with go_idle(): the pusher publishes the task, then looks for a parked worker; a
    // parking worker publishes that it parks, then looks at the queue. One sees the other.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (wake_one_parked()) return;
    // No worker is marked parked, yet one may be asleep in its reactor after running only
    // inline work (which never passes through go_idle): nudge one, round robin, so the task
    // never waits for an unrelated event.
    const auto next = inject_nudge_.fetch_add(1, std::memory_order_relaxed) % workers_.size();
    ensure_tick(*workers_[next]);
}

bool scheduler::wake_one_parked() {
    if (parked_.load(std::memory_order_seq_cst) == 0) return false;
    for (auto& w : workers_) {
        bool expected = true;
        if (w->parked.compare_exchange_strong(expected, false, std::memory_order_acq_rel)) {
            parked_.fetch_sub(1, std::memory_order_relaxed);
            w->counters.unparks.fetch_add(1, std::memory_order_relaxed);
            ensure_tick(*w);
            return true;
        }
    }
    return false;
}

void scheduler::ensure_tick(worker& w) {
    if (w.tick_posted.exchange(true, std::memory_order_acq_rel)) return;
    asio::post(w.io, [this, target = &w] { tick(*target); });
}

void scheduler::tick(worker& w) {
    worker* runner = current_worker();
    if (runner != &w) {
        // A thief polling w's reactor picked up w's tick. w is stuck in a task (that is why
        // it is polled), so the thief takes w's queued work rather than leave it stranded.
        w.tick_posted.store(false, std::memory_order_release);
        if (runner == nullptr) return;  // not reachable: only workers run reactors
        task_list taken;
        if (task* t = w.lifo.exchange(nullptr, std::memory_order_acq_rel)) taken.push_back(t);
        while (w.ring.steal_half(taken) > 0) {
        }
        while (task* t = taken.pop_front()) push_local(*runner, t);
        // The consumed tick may have been what was to serve the inject queue (a nudge or a
        // wake lands on an already-posted tick): the thief's own tick takes that over.
        ensure_tick(*runner);
        return;
    }
    w.tick_posted.store(false, std::memory_order_release);
    rearm_lost_watch(w);
    for (unsigned n = 0; n < options_.tick_budget; ++n) {
        task* t = next_task(w);
        if (t == nullptr) {
            go_idle(w);
            return;
        }
        run_task(w, t);
    }
    // Budget spent: let the reactor run, then continue.
    ensure_tick(w);
}

task* scheduler::next_task(worker& w) {
    if (++w.taken % options_.inject_interval == 0) {
        if (task* t = inject_.pop()) return t;
    }
    if (w.lifo_streak < options_.lifo_limit) {
        if (task* t = w.lifo.exchange(nullptr, std::memory_order_acq_rel)) {
            ++w.lifo_streak;
            return t;
        }
    }
    w.lifo_streak = 0;
    if (task* t = w.ring.pop()) return t;
    if (task* t = w.lifo.exchange(nullptr, std::memory_order_acq_rel)) return t;
    if (task* t = inject_.pop()) return t;
    return search(w);
}

task* scheduler::search(worker& w) {
    const auto n = workers_.size();
    if (n < 2) return nullptr;
    // At most half the workers search at once (Tokio): more searchers only contend.
    if (2 * searching_.load(std::memory_order_relaxed) >= n) return nullptr;
    searching_.fetch_add(1, std::memory_order_relaxed);
    task* found = nullptr;
    const auto start = static_cast<std::size_t>(w.random()) % n;
    for (std::size_t i = 0; i < n && found == nullptr; ++i) {
        worker& victim = *workers_[(start + i) % n];
        if (&victim == &w) continue;
        task_list stolen;
        const auto count = victim.ring.steal_half(stolen);
        if (count == 0) continue;
        w.counters.steals.fetch_add(1, std::memory_order_relaxed);
        w.counters.tasks_stolen.fetch_add(count, std::memory_order_relaxed);
        found = stolen.pop_front();
        while (task* t = stolen.pop_front()) {
            if (const auto moved = w.ring.push(t, inject_)) bump(w.counters.inject_pushes, moved);
        }
    }
    searching_.fetch_sub(1, std::memory_order_relaxed);
    return found;
}

bool scheduler::sleep_watch(worker& w) {
    // Nothing has moved for a while: stop looking until a worker runs a task again (it wakes
    // this watch), so an idle pier costs no wake-ups at all. Publish the sleep first, then look
    // for a worker inside a task; run_task() marks itself inside first, then looks for
    // sleepers. With both orders sequentially consistent, one of the two sees the other.
    w.watch_asleep.store(true, std::memory_order_seq_cst);
    sleeping_watchers_.fetch_add(1, std::memory_order_seq_cst);
    if (!any_other_in_task(w)) return true;
    bool expected = true;
    if (!w.watch_asleep.compare_exchange_strong(expected, false, std::memory_order_acq_rel)) {
        return true;  // already woken: the waker posted a re-arm
    }
    sleeping_watchers_.fetch_sub(1, std::memory_order_relaxed);
    return false;  // someone is in a task: keep watching
}

bool scheduler::any_other_in_task(const worker& w) const {
    for (const auto& other : workers_) {
        if (other.get() != &w && (other->progress.load(std::memory_order_seq_cst) & 1) != 0) {
            return true;
        }
    }
    return false;
}

void scheduler::go_idle(worker& w) {
    if (!w.parked.load(std::memory_order_relaxed)) {
        w.parked.store(true, std::memory_order_relaxed);
        parked_.fetch_add(1, std::memory_order_seq_cst);
        bump(w.counters.parks);
    }
    // Pairs with push_inject(): see there.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (inject_.size() > 0) {
        bool expected = true;
        if (w.parked.compare_exchange_strong(expected, false, std::memory_order_acq_rel)) {
            parked_.fetch_sub(1, std::memory_order_relaxed);
        }
        ensure_tick(w);
        return;
    }
}

void scheduler::wake_sleeping_watcher(worker& busy) {
    for (auto& other : workers_) {
        if (other.get() == &busy) continue;
        bool expected = true;
        if (!other->watch_asleep.compare_exchange_strong(expected, false,
                                                         std::memory_order_acq_rel)) {
            continue;
        }
        sleeping_watchers_.fetch_sub(1, std::memory_order_relaxed);
        asio::post(other->io, [this, target = other.get()] {
            if (current_worker() != target) {
                // Run by a thief: that worker is busy, it re-arms at its next task.
                target->watch_lost.store(true, std::memory_order_relaxed);
                return;
            }
            target->watch_interval = options_.io_steal_interval;
            arm_watch(*target);
        });
        return;
    }
}

void scheduler::rearm_lost_watch(worker& w) {
    if (!w.watch_lost.load(std::memory_order_relaxed)) return;
    w.watch_lost.store(false, std::memory_order_relaxed);
    arm_watch(w);
}

void scheduler::arm_watch(worker& w) {
    w.watch_timer.expires_after(w.watch_interval);
    w.watch_timer.async_wait([this, target = &w](const boost::system::error_code& ec) {
        if (ec) return;
        // A thief polling this worker's io_context may run this handler; the watch state is
        // the owner's alone, so leave it to the owner.
        if (current_worker() != target) {
            target->watch_lost.store(true, std::memory_order_relaxed);
            return;
        }
        watch(*target);
    });
}

void scheduler::watch(worker& w) {
    if (stopping_.load(std::memory_order_relaxed)) return;
    bool others_moved = false;
    if (steal_io(w, others_moved)) {
        // What the stolen handler queued here runs on the next tick; look again as soon as our
        // own reactor has had its turn: the stuck worker's next event is likely ready too.
        ensure_tick(w);
        w.watch_interval = std::chrono::microseconds(0);
    } else if (others_moved) {
        w.watch_interval = options_.io_steal_interval;
    } else if (w.watch_interval >= options_.max_watch_interval && sleep_watch(w)) {
        return;
    } else {
        // Nothing moved since the last look: look less often.
        w.watch_interval = std::min(std::max(2 * w.watch_interval, options_.io_steal_interval),
                                    options_.max_watch_interval);
    }
    arm_watch(w);
}

bool scheduler::steal_io(worker& w, bool& others_moved) {
    bool stole = false;
    for (auto& victim : workers_) {
        if (victim.get() == &w) continue;
        const auto progress = victim->progress.load(std::memory_order_relaxed);
        const bool stuck = (progress & 1) != 0 && progress == w.seen_progress[victim->index];
        if (progress != w.seen_progress[victim->index]) others_moved = true;
        w.seen_progress[victim->index] = progress;
        if (!stuck) continue;
        // Its queued tasks, the LIFO slot included (no one else would run it until the victim
        // is free again)...
        task_list taken;
        if (task* t = victim->lifo.exchange(nullptr, std::memory_order_acq_rel)) {
            taken.push_back(t);
        }
        victim->ring.steal_half(taken);
        if (taken.size > 0) {
            w.counters.steals.fetch_add(1, std::memory_order_relaxed);
            w.counters.tasks_stolen.fetch_add(taken.size, std::memory_order_relaxed);
            stole = true;
        }
        while (task* t = taken.pop_front()) push_local(w, t);
        // ...and one ready handler of its reactor (after a non-blocking run of it), then back
        // to our own: a thief never queues several of the victim's requests in front of its
        // own.
        if (victim->io.poll_one() > 0) {
            w.counters.io_steals.fetch_add(1, std::memory_order_relaxed);
            stole = true;
        }
    }
    return stole;
}

}  // namespace pier::runtime
