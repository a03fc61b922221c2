// Gives memory back to the kernel after a burst of connections has ended.
//
// Why: glibc's malloc keeps what a burst freed. A worker thread's arena shrinks only from its
// top, so one live allocation near the top holds every free page below it; and whole free
// pages in the middle of a heap stay resident until malloc_trim(3) returns them (it does so for
// every arena, with MADV_DONTNEED). After 10,000 idle connections closed pierd stayed at 4x
// its RSS before them; after 2,000 slow readers, 1.7x (bench/README.md, burst_rss.py).
//
// give_back_policy decides when (pure: the caller supplies the time and the connection
// counts); memory_give_back runs it once a second on a thread of its own, off the workers:
// malloc_trim takes each arena's lock while it walks that arena's free chunks (a few ms after
// 10,000 connections), and a worker allocating meanwhile would wait.
//
// Threads: memory_give_back is constructed and destroyed by its owner (daemon::server); its
// callbacks run on its own thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <thread>

namespace pier::daemon {

/// The open connections, as the give-back reads them once per tick.
struct connection_counts {
    std::size_t open = 0;  ///< open now
    /// The most open at once since the previous read. The count now is not enough: a burst of
    /// 10,000 connections can open and close between two ticks (0.7 s in bench/burst_rss.py).
    std::size_t most_open = 0;
};

/// When to give memory back: after the open connection count has fallen well below its peak
/// since the last time, and not more often than min_interval. A steady load never triggers it
/// (nothing to give back, and the trim's cost stays off the hot path); a burst that ends does.
class give_back_policy {
public:
    using clock = std::chrono::steady_clock;

    struct settings {
        /// The count must have fallen by at least this many connections... 64: below it a
        /// burst freed a few hundred KiB at most (~2 KiB per idle echo connection).
        std::size_t min_drop = 64;
        /// ...and by at least this fraction of the peak (1/4: a quarter of the peak's memory).
        unsigned drop_divisor = 4;
        /// Trims at most this often, so a load that swings up and down pays for one trim per
        /// interval at most. 5s: a burst's memory is back within 10 s of its end.
        std::chrono::nanoseconds min_interval = std::chrono::seconds(5);
    };

    give_back_policy() = default;
    explicit give_back_policy(settings s) : settings_(s) {}

    /// Called once per tick with the connection counts; true when memory should be given back
    /// now (the caller then does so: the policy counts it as done).
    bool due(connection_counts counts, clock::time_point now);

private:
    settings settings_;
    std::size_t peak_ = 0;  ///< most connections open at once since the last give-back
    std::optional<clock::time_point> last_;
};

/// The thread that asks give_back_policy every `tick` and gives memory back when it says so.
class memory_give_back {
public:
    /// `open_connections` is read once per tick; `give_back` is called when the policy says
    /// (default: malloc_trim(0) where glibc provides it, else nothing).
    memory_give_back(std::function<connection_counts()> open_connections,
                     std::function<void()> give_back = release_free_memory,
                     give_back_policy::settings settings = {},
                     std::chrono::nanoseconds tick = std::chrono::seconds(1));
    /// Stops and joins the thread.
    ~memory_give_back();
    memory_give_back(const memory_give_back&) = delete;
    memory_give_back& operator=(const memory_give_back&) = delete;

    /// Returns the free pages of every malloc arena to the kernel (glibc's malloc_trim(0));
    /// does nothing with another C library.
    static void release_free_memory();

private:
    void run(std::stop_token stop);

    std::function<connection_counts()> open_connections_;
    std::function<void()> give_back_;
    give_back_policy policy_;
    std::chrono::nanoseconds tick_;
    std::jthread thread_;  ///< declared last: started once everything it uses exists
};

}  // namespace pier::daemon
