// The serializer's lock-free queue: first in, first out for one producer, each producer's order
// kept when several push at once, every task out exactly once, and what is left discarded.
#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <deque>
#include <thread>
#include <vector>

#include "pier/runtime/serializer.hpp"
#include "pier/runtime/task_mailbox.hpp"

namespace pier::runtime {
namespace {

/// A task that records, when run, which producer made it and its place in that producer's
/// sequence; discarding it is counted.
struct numbered_task final : task {
    numbered_task(int producer_index, int sequence_number, std::atomic<int>& discards)
        : task(&run_entry, &discard_entry),
          producer(producer_index),
          sequence(sequence_number),
          discarded(&discards) {}
    static void run_entry(task* /*self*/) {}
    static void discard_entry(task* self) {
        static_cast<numbered_task*>(self)->discarded->fetch_add(1);
    }
    int producer;
    int sequence;
    std::atomic<int>* discarded;
};

TEST_CASE("task_mailbox: one producer's tasks come out in the order they went in") {
    std::atomic<int> discards{0};
    std::deque<numbered_task> tasks;
    for (int i = 0; i < 5; ++i) tasks.emplace_back(0, i, discards);
    task_mailbox box;
    CHECK(box.pop() == nullptr);
    box.push(&tasks[0]);
    box.push(&tasks[1]);
    CHECK(box.pop() == &tasks[0]);
    // Pushed while the consumer holds a batch: after the rest of that batch.
    box.push(&tasks[2]);
    box.push(&tasks[3]);
    CHECK(box.pop() == &tasks[1]);
    box.push(&tasks[4]);
    CHECK(box.pop() == &tasks[2]);
    CHECK(box.pop() == &tasks[3]);
    CHECK(box.pop() == &tasks[4]);
    CHECK(box.pop() == nullptr);
    CHECK(discards == 0);
}

TEST_CASE("task_mailbox: concurrent producers, each producer's order kept, each task once") {
    constexpr std::size_t producers = 4;
    constexpr int per_producer = 20000;
    constexpr int total = static_cast<int>(producers) * per_producer;
    std::atomic<int> discards{0};
    std::vector<std::deque<numbered_task>> made(producers);
    for (std::size_t p = 0; p < producers; ++p) {
        for (int i = 0; i < per_producer; ++i)
            made[p].emplace_back(static_cast<int>(p), i, discards);
    }
    task_mailbox box;
    std::atomic<int> pushed{0};
    std::vector<std::thread> threads;
    for (std::size_t p = 0; p < producers; ++p) {
        threads.emplace_back([&, p] {
            for (auto& t : made[p]) {
                box.push(&t);
                pushed.fetch_add(1, std::memory_order_release);
            }
        });
    }
    // The consumer pops while the producers push, until it has seen every task.
    std::vector<int> next_expected(producers, 0);
    int taken = 0;
    bool in_order = true;
    while (taken < total) {
        task* t = box.pop();
        if (t == nullptr) {
            // Once every push is seen done, an empty pop means a task was lost: stop and fail.
            if (pushed.load(std::memory_order_acquire) == total) break;
            std::this_thread::yield();
            continue;
        }
        auto* n = static_cast<numbered_task*>(t);
        auto& expected = next_expected[static_cast<std::size_t>(n->producer)];
        if (n->sequence != expected) in_order = false;
        expected = n->sequence + 1;
        ++taken;
    }
    for (auto& thread : threads) thread.join();
    CHECK(in_order);
    CHECK(taken == total);
    CHECK(box.pop() == nullptr);
    for (const int next : next_expected) CHECK(next == per_producer);
}

TEST_CASE("task_mailbox: what is left at the end is discarded, once each") {
    std::atomic<int> discards{0};
    std::deque<numbered_task> tasks;
    for (int i = 0; i < 3; ++i) tasks.emplace_back(0, i, discards);
    {
        task_mailbox box;
        for (auto& t : tasks) box.push(&t);
        CHECK(box.pop() == &tasks[0]);
    }
    CHECK(discards == 2);
}

// Every connection holds a serializer for its whole life (bench/README.md, the idle
// connection's budget): its size is part of what an idle connection costs.
TEST_CASE("serializer: small enough for a 64-byte heap chunk") { CHECK(sizeof(serializer) <= 56); }

}  // namespace
}  // namespace pier::runtime
