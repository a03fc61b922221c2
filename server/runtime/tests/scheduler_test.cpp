// The work-stealing scheduler without sockets: its ring's overflow and steal arithmetic, and
// with real worker threads: every task runs exactly once, strands stay serialized, a blocked
// worker's queued tasks are stolen, and shutdown leaves no task behind.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "pier/runtime/scheduler.hpp"
#include "pier/runtime/serializer.hpp"
#include "pier/runtime/task_queue.hpp"

namespace pier::runtime {
namespace {

using namespace std::chrono_literals;

/// Counts down to zero; waits for it with a deadline (no sleeps).
class countdown {
public:
    explicit countdown(std::size_t n) : left_(n) {}
    void done() {
        std::lock_guard lock(mutex_);
        if (--left_ == 0) zero_.notify_all();
    }
    bool wait(std::chrono::steady_clock::duration deadline) {
        std::unique_lock lock(mutex_);
        return zero_.wait_for(lock, deadline, [this] { return left_ == 0; });
    }

private:
    std::mutex mutex_;
    std::condition_variable zero_;
    std::size_t left_;
};

/// io_contexts for a scheduler's workers, owned by the test.
struct reactors {
    explicit reactors(std::size_t n) {
        // The default concurrency hint: the scheduler's workers run each other's contexts.
        for (std::size_t i = 0; i < n; ++i) owned.push_back(std::make_unique<asio::io_context>());
    }
    std::vector<asio::io_context*> pointers() const {
        std::vector<asio::io_context*> out;
        for (const auto& io : owned) out.push_back(io.get());
        return out;
    }
    std::vector<std::unique_ptr<asio::io_context>> owned;
};

task* counting_task(std::atomic<int>& runs) {
    return function_task<std::function<void()>>::make([&runs] { ++runs; });
}

// Proves the ring's arithmetic: capacity, FIFO pops, overflow of half plus the new task into the
// inject queue, and a steal taking half rounded up.
TEST_CASE("scheduler: the local ring overflows half into the inject queue and steals half") {
    std::atomic<int> runs{0};
    inject_queue inject;
    local_queue ring(4);
    for (int i = 0; i < 4; ++i) CHECK(ring.push(counting_task(runs), inject) == 0);
    CHECK(ring.size() == 4);
    CHECK(ring.push(counting_task(runs), inject) == 3);  // two oldest + the new one
    CHECK(ring.size() == 2);
    CHECK(inject.size() == 3);

    task_list stolen;
    CHECK(ring.push(counting_task(runs), inject) == 0);  // 3 queued now
    CHECK(ring.steal_half(stolen) == 2);                 // half of 3, rounded up
    CHECK(ring.size() == 1);
    while (task* t = stolen.pop_front()) t->run();
    while (task* t = ring.pop()) t->run();
    while (task* t = inject.pop()) t->run();
    CHECK(runs == 6);
    CHECK(ring.steal_half(stolen) == 0);
}

// Proves tasks from non-worker threads (the inject queue) each run exactly once.
TEST_CASE("scheduler: tasks posted from many threads run exactly once") {
    constexpr std::size_t threads = 4;
    constexpr std::size_t per_thread = 5000;
    reactors io(2);
    scheduler s(io.pointers());
    s.start();
    std::vector<std::atomic<int>> runs(threads * per_thread);
    countdown all(threads * per_thread);
    std::vector<std::thread> posters;
    for (std::size_t t = 0; t < threads; ++t) {
        posters.emplace_back([&, t] {
            for (std::size_t i = 0; i < per_thread; ++i) {
                asio::post(s.executor(), [&, slot = t * per_thread + i] {
                    ++runs[slot];
                    all.done();
                });
            }
        });
    }
    for (auto& p : posters) p.join();
    REQUIRE(all.wait(20s));
    s.stop();
    std::size_t wrong = 0;
    for (const auto& r : runs) wrong += r.load() != 1;
    CHECK(wrong == 0);
    CHECK(s.metrics(0).tasks_run + s.metrics(1).tasks_run >= threads * per_thread);
}

// Proves a strand over the scheduler never runs two of its handlers at once, under contention
// from many posting threads and many strands sharing two workers.
TEST_CASE("scheduler: a strand never runs two of its handlers at once") {
    constexpr std::size_t strands = 8;
    constexpr std::size_t per_strand = 2000;
    reactors io(2);
    scheduler s(io.pointers());
    s.start();
    struct guarded {
        explicit guarded(scheduler& sched) : strand(sched.executor()) {}
        asio::strand<scheduler_executor> strand;
        std::atomic<bool> inside{false};
        std::size_t count = 0;  // touched only inside the strand
    };
    std::vector<std::unique_ptr<guarded>> all;
    for (std::size_t i = 0; i < strands; ++i) all.push_back(std::make_unique<guarded>(s));
    std::atomic<int> overlaps{0};
    countdown finished(strands * per_strand);
    std::vector<std::thread> posters;
    for (int t = 0; t < 4; ++t) {
        posters.emplace_back([&] {
            for (std::size_t i = 0; i < per_strand / 4; ++i) {
                for (auto& g : all) {
                    asio::post(g->strand, [&, target = g.get()] {
                        if (target->inside.exchange(true)) ++overlaps;
                        ++target->count;
                        target->inside.store(false);
                        finished.done();
                    });
                }
            }
        });
    }
    for (auto& p : posters) p.join();
    REQUIRE(finished.wait(20s));
    s.stop();
    CHECK(overlaps == 0);
    for (const auto& g : all) CHECK(g->count == per_strand);
}

// Proves a connection's serializer never runs two of its functions at once, whether they come
// as completions on a worker (run inline: timers expiring on both workers' reactors) or as
// posts from other threads (queued), all at once.
TEST_CASE("scheduler: a serializer never runs two of its functions at once") {
    constexpr int serializers = 6;
    constexpr int per_source = 1500;
    reactors io(2);
    scheduler s(io.pointers());
    s.start();
    struct guarded {
        explicit guarded(scheduler& sched) : executor(*new serializer(sched)) {}
        serial_executor executor;
        std::atomic<bool> inside{false};
        int count = 0;  // touched only inside the serializer
    };
    std::vector<std::unique_ptr<guarded>> all;
    for (int i = 0; i < serializers; ++i) all.push_back(std::make_unique<guarded>(s));
    std::atomic<int> overlaps{0};
    countdown finished(2 * serializers * per_source);
    const auto critical = [&](guarded& g) {
        if (g.inside.exchange(true)) ++overlaps;
        ++g.count;
        g.inside.store(false);
        finished.done();
    };
    // Completions: a chain of immediately-expiring timers per serializer on each reactor, each
    // handler bound to the serializer (Asio then executes it there, blocking.possibly).
    struct chain {
        asio::steady_timer timer;
        guarded& g;
        int left;
        std::function<void()> next;
    };
    std::vector<std::unique_ptr<chain>> chains;
    for (auto& g : all) {
        for (auto& reactor : io.owned) {
            chains.push_back(std::make_unique<chain>(
                chain{asio::steady_timer(*reactor), *g, per_source / 2, {}}));
            chain& c = *chains.back();
            c.next = [&c, &critical] {
                c.timer.expires_after(0s);
                c.timer.async_wait(asio::bind_executor(
                    c.g.executor, [&c, &critical](const boost::system::error_code&) {
                        critical(c.g);
                        if (--c.left > 0) c.next();
                    }));
            };
            asio::post(*reactor, c.next);
        }
    }
    // Posts from outside the pool, at the same time.
    std::vector<std::thread> posters;
    for (int t = 0; t < 3; ++t) {
        posters.emplace_back([&] {
            for (int i = 0; i < per_source / 3; ++i) {
                for (auto& g : all)
                    asio::post(g->executor, [&, target = g.get()] { critical(*target); });
            }
        });
    }
    for (auto& p : posters) p.join();
    REQUIRE(finished.wait(30s));
    s.stop();
    CHECK(overlaps == 0);
    for (const auto& g : all) CHECK(g->count == 2 * per_source);
}

// Proves the LIFO slot and a ring of 4 spill into the inject queue when a task queues more than
// fits, and every queued task still runs once.
TEST_CASE("scheduler: LIFO and a full ring overflow into the inject queue") {
    reactors io(1);
    scheduler_options options;
    options.local_queue_capacity = 4;
    scheduler s(io.pointers(), options);
    s.start();
    constexpr int children = 20;
    std::atomic<int> runs{0};
    countdown done(children);
    asio::post(s.executor(), [&] {
        // On the worker: each post goes to the LIFO slot, pushing the previous one to the ring.
        for (int i = 0; i < children; ++i) {
            asio::post(s.executor(), [&] {
                ++runs;
                done.done();
            });
        }
    });
    REQUIRE(done.wait(20s));
    s.stop();
    CHECK(runs == children);
    CHECK(s.metrics(0).inject_pushes > 0);
}

// Proves stealing: a task that blocks its worker after queueing work there gets that work run
// by the other worker.
TEST_CASE("scheduler: a blocked worker's queued tasks are stolen") {
    reactors io(2);
    scheduler s(io.pointers());
    s.start();
    constexpr int children = 16;
    countdown children_done(children);
    std::atomic<int> blocked_worker{-1};
    std::atomic<bool> children_ran{false};
    countdown blocker_finished(1);
    asio::post(s.executor(), [&] {
        blocked_worker = s.current_worker_index();
        for (int i = 0; i < children; ++i) {
            asio::post(s.executor(), [&] { children_done.done(); });
        }
        // Blocks this worker until the children ran elsewhere (or the deadline passes).
        children_ran = children_done.wait(10s);
        blocker_finished.done();
    });
    REQUIRE(blocker_finished.wait(20s));
    s.stop();
    CHECK(children_ran);
    REQUIRE(blocked_worker >= 0);
    const auto thief = 1 - blocked_worker.load();
    const auto m = s.metrics(static_cast<std::size_t>(thief));
    CHECK(m.steals >= 1);
    CHECK(m.tasks_stolen >= 1);
}

// Proves shutdown loses nothing and runs nothing twice: work queued on a scheduler that never
// ran is discarded (destroyed, not run); work queued on a running one runs before stop returns.
TEST_CASE("scheduler: shutdown runs or destroys every queued task exactly once") {
    auto witness = std::make_shared<int>(0);
    std::atomic<int> runs{0};
    {
        reactors io(2);
        scheduler s(io.pointers());
        for (int i = 0; i < 100; ++i) {
            asio::post(s.executor(), [witness, &runs] { ++runs; });
        }
        CHECK(witness.use_count() == 101);
    }  // never started: destroyed with the scheduler
    CHECK(runs == 0);
    CHECK(witness.use_count() == 1);

    reactors io(2);
    scheduler s(io.pointers());
    s.start();
    for (int i = 0; i < 1000; ++i) {
        asio::post(s.executor(), [witness, &runs] { ++runs; });
    }
    s.stop();
    CHECK(runs == 1000);
    CHECK(witness.use_count() == 1);
}

}  // namespace
}  // namespace pier::runtime
