// A connection's serializer: runs the functions given to it one at a time, in order, on
// whichever worker the scheduler picks: what asio::strand does, cut down to what pier needs.
//
// Why not asio::strand<scheduler_executor>: every resume of a connection's coroutine went
// through it, and it cost ~800 instructions per echoed message over pinned (callgrind): an
// operation and an invoker allocated per resume, the invoker re-dispatched through the inner
// executor, two mutex round trips. Here the common resume (a completion on a worker, nothing
// else queued for the connection) takes the serializer with one compare-exchange and runs the
// function right there: no allocation, no lock, no queue. Only when functions overlap (a stop
// request posted while the coroutine runs, a post) do they go through a queue (a lock-free
// task_mailbox), with the serializer itself as the unit the scheduler queues (it derives from
// task). Every connection holds one for its whole life: 56 bytes.
//
// The state is a count of functions given and not finished (Go's and many serial executors'
// trick): whoever raises it from 0 runs them, and whoever brings it back to 0 stops.
//
// Lifetime: reference-counted by the executors that name it (serial_executor copies) and by
// its own "scheduled" state, so it outlives the connection object while a completion or the
// spawn's final handler still runs through it.
//
// Thread-safety: serial_executor::execute from any thread; the functions run one at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

#include <boost/asio/execution.hpp>

#include "pier/runtime/scheduler.hpp"
#include "pier/runtime/task_mailbox.hpp"
#include "pier/runtime/task_queue.hpp"

namespace pier::runtime {

class serializer final : public task {
public:
    explicit serializer(scheduler& s);
    serializer(const serializer&) = delete;
    serializer& operator=(const serializer&) = delete;

    scheduler& owner() const { return scheduler_; }

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

    /// Whether the calling thread is running one of this serializer's functions.
    bool running_in_this_thread() const noexcept;

    /// The fast path: takes the serializer if nothing is queued or running, runs `f` inline
    /// as a task of the calling worker, and returns true; false (nothing done) otherwise.
    /// Only when owner().can_run_inline().
    template <typename F>
    bool try_run_inline(F& f) {
        std::uint32_t idle = 0;
        if (!count_.compare_exchange_strong(idle, 1, std::memory_order_acquire)) return false;
        add_ref();  // f may destroy the executors that hold this serializer
        struct running {
            serializer& s;
            const serializer* outer;
            explicit running(serializer& target) : s(target), outer(s.mark_running()) {}
            ~running() { s.finish_inline(outer); }
            running(const running&) = delete;
            running& operator=(const running&) = delete;
        } scope(*this);
        scheduler_.run_inline(f);
        return true;
    }

    /// Queues `t`; starts draining (inline when `may_run_inline`, see scheduler::schedule) if
    /// nothing was running.
    void submit(task* t, bool may_run_inline);

private:
    ~serializer();
    static void drain_entry(task* self);
    static void discard_entry(task* self);
    void drain();
    /// Marks the calling thread as running this serializer; returns the previous mark.
    const serializer* mark_running() noexcept;
    /// After an inline function: restores the mark, counts it finished, and hands what was
    /// queued meanwhile to a drain.
    void finish_inline(const serializer* outer) noexcept;

    /// Functions run before the serializer yields its worker to other work (then it queues
    /// itself again): one busy connection cannot hold a worker forever.
    static constexpr unsigned drain_budget = 64;

    scheduler& scheduler_;
    std::atomic<std::uint32_t> refs_{0};
    /// Functions given and not finished: the one running (if any) and those queued. A function
    /// is queued before it is counted, so a counted one that is not running is in pending_.
    std::atomic<std::uint32_t> count_{0};
    /// Pushed by submit() on any thread; popped by the drain (one at a time: the count says).
    task_mailbox pending_;
};

/// The executor a connection's coroutine runs on. One pointer (blocking.never in its low
/// bit), so it fits any_io_executor's inline storage.
class serial_executor {
public:
    /// Names no serializer, as one moved from: only to be tested, assigned or destroyed. (A
    /// connection under the pinned scheduler holds one: 8 bytes where std::optional takes 16.)
    serial_executor() noexcept : bits_(0) {}
    explicit serial_executor(serializer& s, bool never_blocking = false) noexcept
        : bits_(reinterpret_cast<std::uintptr_t>(&s) | (never_blocking ? 1u : 0u)) {
        s.add_ref();
    }
    serial_executor(const serial_executor& other) noexcept : bits_(other.bits_) {
        target().add_ref();
    }
    serial_executor(serial_executor&& other) noexcept : bits_(std::exchange(other.bits_, 0)) {}
    serial_executor& operator=(serial_executor other) noexcept {
        std::swap(bits_, other.bits_);
        return *this;
    }
    ~serial_executor() {
        if (bits_ != 0) target().release();
    }
    /// Whether it names a serializer.
    explicit operator bool() const noexcept { return bits_ != 0; }

    asio::execution_context& query(asio::execution::context_t) const noexcept {
        return target().owner().context();
    }
    asio::execution::blocking_t query(asio::execution::blocking_t) const noexcept {
        return never_blocking() ? asio::execution::blocking_t(asio::execution::blocking.never)
                                : asio::execution::blocking_t(asio::execution::blocking.possibly);
    }
    serial_executor require(asio::execution::blocking_t::never_t) const noexcept {
        return serial_executor(target(), true);
    }
    serial_executor require(asio::execution::blocking_t::possibly_t) const noexcept {
        return serial_executor(target(), false);
    }
    serial_executor prefer(asio::execution::outstanding_work_t::tracked_t) const noexcept {
        return *this;
    }
    serial_executor prefer(asio::execution::outstanding_work_t::untracked_t) const noexcept {
        return *this;
    }
    serial_executor prefer(asio::execution::relationship_t::fork_t) const noexcept { return *this; }
    serial_executor prefer(asio::execution::relationship_t::continuation_t) const noexcept {
        return *this;
    }
    template <typename Allocator>
    serial_executor prefer(const asio::execution::allocator_t<Allocator>&) const noexcept {
        return *this;
    }

    template <typename Function>
    void execute(Function&& f) const {
        serializer& s = target();
        if (!never_blocking() && s.running_in_this_thread()) {
            // Already inside this serializer on this thread: run now, as a strand does.
            std::decay_t<Function> function(std::forward<Function>(f));
            function();
            return;
        }
        if (!never_blocking() && s.owner().can_run_inline() && s.try_run_inline(f)) return;
        using function_type = std::decay_t<Function>;
        s.submit(function_task<function_type>::make(std::forward<Function>(f)), !never_blocking());
    }

    friend bool operator==(const serial_executor& a, const serial_executor& b) noexcept {
        return a.bits_ == b.bits_;
    }
    friend bool operator!=(const serial_executor& a, const serial_executor& b) noexcept {
        return !(a == b);
    }

private:
    serializer& target() const {
        return *reinterpret_cast<serializer*>(bits_ & ~std::uintptr_t{1});
    }
    bool never_blocking() const { return (bits_ & 1u) != 0; }

    std::uintptr_t bits_;  ///< the serializer's address | never_blocking; 0 once moved from
};

}  // namespace pier::runtime
