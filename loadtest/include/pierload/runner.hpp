// Runs a load: client threads, each driving a share of the connections (on its own epoll loop
// for closed-loop echo and line, as Asio coroutines otherwise); once a second the driver collects
// every thread's interval and reports progress.
//
// run_load() blocks the calling thread (the driver) until the run ends: after warmup +
// duration, after --requests requests, or when stop is requested.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "pierload/options.hpp"
#include "pierload/stats.hpp"

namespace pierload {

/// One second of the run, as the live line and the JSON series show it.
struct second_sample {
    double elapsed_s = 0;  ///< seconds since the start of the run, at the end of this interval
    bool warmup = false;   ///< excluded from the totals
    std::size_t open_connections = 0;
    std::uint64_t requests = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t connects = 0;
    std::uint64_t errors = 0;
    std::uint64_t p50_ns = 0;
    std::uint64_t p99_ns = 0;
    double interval_s = 1;  ///< length of this interval (the last one may be shorter)
};

struct run_result {
    options used;
    std::string target;  ///< the resolved address, "127.0.0.1:7000"
    unsigned threads = 0;
    std::chrono::nanoseconds measured{0};  ///< wall time after warmup
    interval_stats total;                  ///< everything after warmup
    std::vector<second_sample> series;     ///< every interval, warmup included (flagged)
    std::size_t peak_connections = 0;
};

/// Set-up failures (name resolution, descriptor limit): the message is for the operator.
class setup_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Runs the load described by `opts`; `on_second` is called on the driver thread after each
/// interval (for the live line). Throws setup_error when the run cannot start.
run_result run_load(const options& opts,
                    const std::function<void(const second_sample&)>& on_second);

/// Raises this process's soft open-file limit toward the hard limit so `needed` descriptors
/// fit; throws setup_error saying what to change when they cannot.
void ensure_descriptor_limit(std::size_t needed);

}  // namespace pierload
