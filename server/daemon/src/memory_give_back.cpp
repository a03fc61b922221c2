#include "pier/daemon/memory_give_back.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <utility>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <spdlog/spdlog.h>

namespace pier::daemon {

bool give_back_policy::due(connection_counts counts, clock::time_point now) {
    const std::size_t open_connections = counts.open;
    peak_ = std::max({peak_, counts.most_open, open_connections});
    const std::size_t drop = peak_ - open_connections;
    if (drop < settings_.min_drop || drop < peak_ / std::max(settings_.drop_divisor, 1U)) {
        return false;
    }
    if (last_ && now - *last_ < settings_.min_interval) return false;
    last_ = now;
    peak_ = open_connections;
    return true;
}

memory_give_back::memory_give_back(std::function<connection_counts()> open_connections,
                                   std::function<void()> give_back,
                                   give_back_policy::settings settings,
                                   std::chrono::nanoseconds tick)
    : open_connections_(std::move(open_connections)),
      give_back_(std::move(give_back)),
      policy_(settings),
      tick_(tick),
      thread_([this](std::stop_token stop) { run(std::move(stop)); }) {}

memory_give_back::~memory_give_back() = default;  // the jthread stops and joins

void memory_give_back::release_free_memory() {
#if defined(__GLIBC__)
    ::malloc_trim(0);
#endif
}

void memory_give_back::run(std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any wake;  // only the stop request wakes it before the tick
    std::unique_lock lock(mutex);
    while (!stop.stop_requested()) {
        wake.wait_for(lock, stop, tick_, [] { return false; });
        if (stop.stop_requested()) break;
        const auto counts = open_connections_();
        if (!policy_.due(counts, give_back_policy::clock::now())) continue;
        const auto start = std::chrono::steady_clock::now();
        give_back_();
        spdlog::debug("memory given back connections={} took_us={}", counts.open,
                      std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count());
    }
}

}  // namespace pier::daemon
