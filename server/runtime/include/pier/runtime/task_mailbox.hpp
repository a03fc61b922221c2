// A serializer's queue of functions waiting to run: any thread puts tasks in, one thread at a
// time (the serializer's runner) takes them out, in the order they were put in.
//
// Lock-free and two pointers wide, because every connection holds one for its whole life
// (bench/README.md, the idle connection's budget): the std::mutex and task_list it replaces
// took 64 bytes for a queue that is empty nearly always (it only holds functions given while
// another of the connection's functions runs). Producers push onto a stack with a
// compare-exchange; the consumer takes the whole stack with one exchange when its own list
// runs dry and reverses it, so tasks come out first in, first out. The consumer never pops
// from the shared stack, so the compare-exchange cannot be fooled by a node freed and pushed
// again (no ABA).
//
// Thread-safety: push() from any thread; pop() and discard_all() from one thread at a time
// (the serializer's count of functions makes sure of it).
#pragma once

#include <atomic>

#include "pier/runtime/task_queue.hpp"

namespace pier::runtime {

class task_mailbox {
public:
    task_mailbox() = default;
    task_mailbox(const task_mailbox&) = delete;
    task_mailbox& operator=(const task_mailbox&) = delete;
    ~task_mailbox() { discard_all(); }

    /// Any thread. The push happens before whatever the caller does next with a release (the
    /// serializer's count): a consumer that acquires that sees the task.
    void push(task* t) noexcept {
        task* top = incoming_.load(std::memory_order_relaxed);
        do {
            t->next = top;
        } while (!incoming_.compare_exchange_weak(top, t, std::memory_order_release,
                                                  std::memory_order_relaxed));
    }

    /// Consumer. The oldest task, or null when none has been pushed (that the caller has
    /// synchronized with).
    task* pop() noexcept {
        if (ready_ == nullptr)
            ready_ = reversed(incoming_.exchange(nullptr, std::memory_order_acquire));
        task* t = ready_;
        if (t != nullptr) {
            ready_ = t->next;
            t->next = nullptr;
        }
        return t;
    }

    /// Consumer. Discards every task (shutdown, or the serializer's end).
    void discard_all() noexcept {
        while (task* t = pop()) t->discard();
    }

private:
    static task* reversed(task* list) noexcept {
        task* out = nullptr;
        while (list != nullptr) {
            task* next = list->next;
            list->next = out;
            out = list;
            list = next;
        }
        return out;
    }

    std::atomic<task*> incoming_{nullptr};  ///< pushed, newest first
    task* ready_ = nullptr;                 ///< taken by the consumer, oldest first
};

}  // namespace pier::runtime
