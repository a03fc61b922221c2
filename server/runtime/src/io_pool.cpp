#include "pier/runtime/io_pool.hpp"

#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "pier/runtime/serializer.hpp"

namespace pier::runtime {

struct worker_lease::worker {
    explicit worker(int concurrency_hint) : io(concurrency_hint) {}

    std::size_t index = 0;
    asio::io_context io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
    /// Connections homed here. ordering: relaxed; it only steers placement, never guards data.
    std::atomic<std::size_t> live{0};
    /// The pool's work-stealing scheduler, or null when pinned.
    scheduler* stealing = nullptr;
    /// Busy polling is over (the pool is stopping): keep_polling() no longer re-posts itself.
    std::atomic<bool> polling_stopped{false};
};

/// runtime.busy_polling: keeps one handler queued in the worker's io_context while the pool
/// runs. Asio's scheduler then always has more handlers, so it asks its reactor for events
/// with a zero timeout (epoll_wait(.., 0)) instead of sleeping in it, and the worker never
/// sleeps (HAProxy's busy-polling). Posted, not looped: it stays inside the worker's one
/// run(), so Asio keeps its recycling caches; it runs wherever that io_context is run (an
/// idle worker serving a stuck one's reactor re-posts it there).
void io_pool::keep_polling(worker_lease::worker& w) {
    if (w.polling_stopped.load(std::memory_order_relaxed)) return;
    asio::post(w.io, [&w] { keep_polling(w); });
}

worker_lease::worker_lease(worker_lease&& other) noexcept : bits_(std::exchange(other.bits_, 0)) {}

worker_lease& worker_lease::operator=(worker_lease&& other) noexcept {
    if (this != &other) {
        release();
        bits_ = std::exchange(other.bits_, 0);
    }
    return *this;
}

worker_lease::~worker_lease() { release(); }

void worker_lease::release() {
    if (target() != nullptr && counted()) {
        target()->live.fetch_sub(1, std::memory_order_relaxed);
    }
    bits_ = 0;
}

asio::io_context::executor_type worker_lease::io_executor() const {
    return target()->io.get_executor();
}

asio::any_io_executor worker_lease::task_executor() const {
    // Work stealing: a serializer per connection, so wherever its handlers run they never run
    // at once (request_stop's posts, the || operators' branches).
    if (target()->stealing != nullptr) {
        return serial_executor(*new serializer(*target()->stealing));
    }
    // Pinned: the coroutine runs on its socket's own reactor thread.
    return target()->io.get_executor();
}

std::size_t worker_lease::worker_index() const { return target()->index; }

io_pool::io_pool(std::size_t threads, config::scheduler_kind kind, scheduler_options options,
                 bool busy_polling)
    : busy_polling_(busy_polling) {
    if (threads == 0) threads = 1;
    workers_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) {
        // Pinned: hint 1, one thread runs this context, so Asio may skip some work (it still
        // lets other threads post into it). Work stealing: the default hint, because idle
        // workers also run this context (poll_one); with hint 1 Asio assumes no other thread
        // waits on it and skips the wake-up a waiting owner needs (a hang we hit in tests).
        const int hint =
            kind == config::scheduler_kind::pinned ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT;
        auto w = std::make_unique<worker_lease::worker>(hint);
        w->index = i;
        // Without a guard run() returns as soon as the context has nothing to do.
        w->guard.emplace(w->io.get_executor());
        // Asio creates a context's reactor (epoll, eventfd, timerfd) lazily, with the first
        // socket or timer. Create it now: a shortage of descriptors then fails start-up
        // instead of the first connection homed on this worker.
        asio::steady_timer{w->io};
        workers_.push_back(std::move(w));
    }
    if (kind == config::scheduler_kind::work_stealing) {
        std::vector<asio::io_context*> reactors;
        for (auto& w : workers_) reactors.push_back(&w->io);
        scheduler_ = std::make_unique<scheduler>(std::move(reactors), options);
        for (auto& w : workers_) w->stealing = scheduler_.get();
    }
}

io_pool::~io_pool() { stop(); }

void io_pool::start() {
    if (busy_polling_) {
        for (auto& w : workers_) keep_polling(*w);
    }
    if (scheduler_) {
        scheduler_->start();
        return;
    }
    if (!threads_.empty()) throw std::logic_error("io_pool already started");
    for (auto& w : workers_) {
        threads_.emplace_back([ctx = &w->io] { ctx->run(); });
    }
}

void io_pool::stop() {
    for (auto& w : workers_) {
        w->polling_stopped.store(true, std::memory_order_relaxed);
        w->guard.reset();
    }
    if (scheduler_) scheduler_->stop();
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

void io_pool::abort() {
    if (scheduler_) scheduler_->abort();
    for (auto& w : workers_) w->io.stop();
    stop();
}

worker_lease io_pool::acquire() {
    worker_lease::worker* best = nullptr;
    std::size_t best_live = std::numeric_limits<std::size_t>::max();
    for (auto& w : workers_) {
        const auto live = w->live.load(std::memory_order_relaxed);
        if (live < best_live) {
            best = w.get();
            best_live = live;
        }
    }
    best->live.fetch_add(1, std::memory_order_relaxed);
    return worker_lease(best, true);
}

worker_lease io_pool::acquire_uncounted(std::size_t worker_index) {
    return worker_lease(workers_[worker_index % workers_.size()].get(), false);
}

int io_pool::current_worker() const {
    if (scheduler_) return scheduler_->current_worker_index();
    const auto self = std::this_thread::get_id();
    for (std::size_t i = 0; i < threads_.size(); ++i) {
        if (threads_[i].get_id() == self) return static_cast<int>(i);
    }
    return -1;
}

void io_pool::post(std::size_t worker_index, std::function<void()> f) {
    asio::post(workers_.at(worker_index)->io, std::move(f));
}

std::size_t io_pool::live_connections(std::size_t worker_index) const {
    return workers_.at(worker_index)->live.load(std::memory_order_relaxed);
}

}  // namespace pier::runtime
