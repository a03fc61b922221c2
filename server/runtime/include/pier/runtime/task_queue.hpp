// The work-stealing scheduler's queues: what a task is, each worker's bounded local ring, and
// the global inject queue. No threads of their own; the scheduler (scheduler.hpp) drives them.
//
// The ring follows Tokio's run queue (tokio/src/runtime/scheduler/multi_thread/queue.rs): one
// producer (the owning worker) pushes at the tail; the owner and stealers take from the head
// with a compare-and-swap, and a stealer takes half of what it sees in one go, so one steal
// moves enough work to be worth its cache misses. When the ring is full, the owner moves half
// of it to the inject queue (with the new task), so a burst never blocks and never grows the
// ring. Go's runtime does the same (runqput / runqputslow in runtime/proc.go).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/asio/recycling_allocator.hpp>

namespace pier::runtime {

/// One unit of work: a type-erased callable in one allocation, linked intrusively so queues
/// never allocate. A task is run or discarded exactly once; either destroys it.
class task {
public:
    task(const task&) = delete;
    task& operator=(const task&) = delete;

    /// Runs the callable and destroys the task.
    void run() { run_(this); }
    /// Destroys the task without running it (shutdown).
    void discard() { discard_(this); }

    task* next = nullptr;  ///< link in the inject queue and in batches

protected:
    using operation = void (*)(task*);
    task(operation run_op, operation discard_op) : run_(run_op), discard_(discard_op) {}
    ~task() = default;

private:
    operation run_;
    operation discard_;
};

/// A task holding a callable of type F. Its memory comes from Asio's per-thread recycling
/// cache (the one Asio's own operations use), so a task per resumed coroutine costs no malloc.
template <typename F>
class function_task final : public task {
public:
    template <typename G>
    explicit function_task(G&& f) : task(&do_run, &do_discard), function_(std::forward<G>(f)) {}

    static task* make(F f) {
        allocator a;
        void* memory = a.allocate(1);
        return new (memory) function_task(std::move(f));
    }

private:
    using allocator = boost::asio::recycling_allocator<function_task>;

    static void destroy(function_task* self) {
        self->~function_task();
        allocator().deallocate(self, 1);
    }
    static void do_run(task* base) {
        auto* self = static_cast<function_task*>(base);
        // Moved out first: the callable may post more work, and the task's memory is
        // released before the callable runs (a long-running callable holds no queue memory).
        F function(std::move(self->function_));
        destroy(self);
        function();
    }
    static void do_discard(task* base) { destroy(static_cast<function_task*>(base)); }

    F function_;
};

/// A FIFO list of tasks linked through task::next.
struct task_list {
    task* head = nullptr;
    task* tail = nullptr;
    std::size_t size = 0;

    void push_back(task* t) {
        t->next = nullptr;
        if (tail == nullptr) {
            head = t;
        } else {
            tail->next = t;
        }
        tail = t;
        ++size;
    }
    void append(task_list&& other) {
        if (other.head == nullptr) return;
        if (tail == nullptr) {
            head = other.head;
        } else {
            tail->next = other.head;
        }
        tail = other.tail;
        size += other.size;
        other = {};
    }
    task* pop_front() {
        task* t = head;
        if (t == nullptr) return nullptr;
        head = t->next;
        if (head == nullptr) tail = nullptr;
        --size;
        t->next = nullptr;
        return t;
    }
    /// Discards every task (shutdown).
    void discard_all() {
        while (task* t = pop_front()) t->discard();
    }
};

/// Work pushed from outside the pool (or overflowing a ring): one mutex, taken only on those
/// paths. size() is lock-free so workers can skip the lock when it is empty.
class inject_queue {
public:
    inject_queue() = default;
    inject_queue(const inject_queue&) = delete;
    inject_queue& operator=(const inject_queue&) = delete;
    ~inject_queue() { tasks_.discard_all(); }

    void push(task_list batch) {
        if (batch.size == 0) return;
        std::lock_guard lock(mutex_);
        size_.fetch_add(batch.size, std::memory_order_release);
        tasks_.append(std::move(batch));
    }
    task* pop() {
        if (size_.load(std::memory_order_acquire) == 0) return nullptr;
        std::lock_guard lock(mutex_);
        task* t = tasks_.pop_front();
        if (t != nullptr) size_.fetch_sub(1, std::memory_order_relaxed);
        return t;
    }
    std::size_t size() const { return size_.load(std::memory_order_acquire); }
    /// Discards every task (shutdown, after every worker has stopped).
    void discard_all() {
        std::lock_guard lock(mutex_);
        tasks_.discard_all();
        size_.store(0, std::memory_order_relaxed);
    }

private:
    std::mutex mutex_;
    task_list tasks_;
    std::atomic<std::size_t> size_{0};
};

/// A worker's bounded ring: push by the owner only; pop by the owner; steal_half by any thread.
class local_queue {
public:
    /// `capacity` must be a power of two (4 in tests, 256 by default).
    explicit local_queue(std::size_t capacity)
        : mask_(static_cast<std::uint32_t>(capacity - 1)), slots_(capacity) {}
    local_queue(const local_queue&) = delete;
    local_queue& operator=(const local_queue&) = delete;
    ~local_queue() {
        while (task* t = pop()) t->discard();
    }

    std::size_t capacity() const { return slots_.size(); }

    /// Tasks queued now (racy when read by other threads; exact on the owner).
    std::size_t size() const {
        const auto tail = tail_.load(std::memory_order_acquire);
        const auto head = head_.load(std::memory_order_acquire);
        return tail - head;
    }

    /// Owner only. Queues `t`; when the ring is full, moves half of it and `t` to `overflow`
    /// and returns how many tasks moved there (0 when `t` fit).
    std::size_t push(task* t, inject_queue& overflow) {
        for (;;) {
            const auto tail = tail_.load(std::memory_order_relaxed);
            const auto head = head_.load(std::memory_order_acquire);
            if (tail - head < slots_.size()) {
                slots_[tail & mask_].store(t, std::memory_order_relaxed);
                tail_.store(tail + 1, std::memory_order_release);
                return 0;
            }
            // Full: claim the older half, as a steal would, and hand it over with `t`.
            const auto half = static_cast<std::uint32_t>(slots_.size() / 2);
            task_list moved;
            for (std::uint32_t i = 0; i < half; ++i) {
                moved.push_back(slots_[(head + i) & mask_].load(std::memory_order_relaxed));
            }
            auto expected = head;
            if (!head_.compare_exchange_strong(expected, head + half, std::memory_order_acq_rel)) {
                continue;  // a stealer made room meanwhile: retry the push
            }
            moved.push_back(t);
            const auto count = moved.size;
            overflow.push(std::move(moved));
            return count;
        }
    }

    /// Owner only. The oldest queued task, or null.
    task* pop() {
        auto head = head_.load(std::memory_order_acquire);
        for (;;) {
            const auto tail = tail_.load(std::memory_order_relaxed);
            if (head == tail) return nullptr;
            task* t = slots_[head & mask_].load(std::memory_order_relaxed);
            if (head_.compare_exchange_weak(head, head + 1, std::memory_order_acq_rel)) return t;
        }
    }

    /// Any thread. Takes half (rounded up) of the tasks queued here into `out`, oldest first.
    /// Returns how many it took.
    std::size_t steal_half(task_list& out) {
        auto head = head_.load(std::memory_order_acquire);
        for (;;) {
            const auto tail = tail_.load(std::memory_order_acquire);
            const auto available = tail - head;
            // A stale head can make tail - head look larger than the ring: retry with a new one.
            if (available > slots_.size()) {
                head = head_.load(std::memory_order_acquire);
                continue;
            }
            if (available == 0) return 0;
            const auto take = available - available / 2;
            // Read the slots before claiming them: the owner never rewrites a slot between
            // head and tail, and if head moves meanwhile the claim below fails and we retry.
            task* taken[512];
            const auto n =
                std::min<std::uint32_t>(take, static_cast<std::uint32_t>(std::size(taken)));
            for (std::uint32_t i = 0; i < n; ++i) {
                taken[i] = slots_[(head + i) & mask_].load(std::memory_order_relaxed);
            }
            if (head_.compare_exchange_weak(head, head + n, std::memory_order_acq_rel)) {
                for (std::uint32_t i = 0; i < n; ++i) out.push_back(taken[i]);
                return n;
            }
        }
    }

private:
    // Free-running counters: the slot is counter & mask_; unsigned wrap-around keeps
    // tail - head right.
    alignas(64) std::atomic<std::uint32_t> head_{0};
    alignas(64) std::atomic<std::uint32_t> tail_{0};
    const std::uint32_t mask_;
    std::vector<std::atomic<task*>> slots_;
};

}  // namespace pier::runtime
