#include "pier/runtime/serializer.hpp"

namespace pier::runtime {
namespace {

/// The serializer whose function the calling thread is running (null outside any).
thread_local const serializer* this_thread_serializer = nullptr;

}  // namespace

serializer::serializer(scheduler& s) : task(&drain_entry, &discard_entry), scheduler_(s) {}

serializer::~serializer() = default;  // pending_ discards what never ran

bool serializer::running_in_this_thread() const noexcept { return this_thread_serializer == this; }

const serializer* serializer::mark_running() noexcept {
    return std::exchange(this_thread_serializer, this);
}

void serializer::finish_inline(const serializer* outer) noexcept {
    this_thread_serializer = outer;
    if (count_.fetch_sub(1, std::memory_order_acq_rel) > 1) {
        // Functions were queued while this one ran: a drain runs them, holding its own ref.
        add_ref();
        scheduler_.schedule(this, false);
    }
    release();
}

void serializer::submit(task* t, bool may_run_inline) {
    pending_.push(t);
    if (count_.fetch_add(1, std::memory_order_acq_rel) != 0) return;  // the runner takes it
    add_ref();  // held while draining: released when the count is back to 0
    scheduler_.schedule(this, may_run_inline);
}

void serializer::drain_entry(task* self) { static_cast<serializer*>(self)->drain(); }

void serializer::discard_entry(task* self) {
    // Shutdown discarded the serializer while it was queued: its functions will never run.
    auto* s = static_cast<serializer*>(self);
    s->pending_.discard_all();
    s->count_.store(0, std::memory_order_release);
    s->release();
}

void serializer::drain() {
    // Runs counted functions until the count is back to 0, or until the budget is spent (then
    // queues itself again, keeping its ref). Restores the thread's mark, and if a function
    // threw, accounts for it and hands the rest to another drain (as asio::strand does).
    struct draining {
        explicit draining(serializer& target) : s(target), outer(s.mark_running()) {}
        ~draining() {
            this_thread_serializer = outer;
            if (done) {
                s.release();
            } else if (threw) {
                if (s.count_.fetch_sub(1, std::memory_order_acq_rel) > 1) {
                    s.scheduler_.schedule(&s, false);
                } else {
                    s.release();
                }
            } else {
                s.scheduler_.schedule(&s, false);  // budget spent, more queued
            }
        }
        draining(const draining&) = delete;
        draining& operator=(const draining&) = delete;
        serializer& s;
        const serializer* outer;
        bool done = false;
        bool threw = false;
    } scope(*this);

    for (unsigned ran = 0; ran < drain_budget; ++ran) {
        // Counted means queued (see count_), so there is one.
        task* function = pending_.pop();
        scope.threw = true;
        function->run();
        scope.threw = false;
        if (count_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            scope.done = true;
            return;
        }
    }
}

}  // namespace pier::runtime
