// What pierload measures: counters, errors by kind and latency histograms, per interval.
//
// Each client thread owns one interval_stats and is the only one to write it; the driver swaps
// it out once a second (on that thread) and merges the intervals into the run's totals.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "pierload/histogram.hpp"

namespace pierload {

/// Why a request or connection failed.
enum class error_kind : std::uint8_t {
    refused,          ///< connect refused (nothing listening, or a full backlog with RST)
    reset,            ///< connection reset or broken pipe
    timeout,          ///< connect or response slower than its timeout
    verify_mismatch,  ///< echoed bytes differ from what was sent
    unexpected_eof,   ///< the server closed while a response was expected
    other,            ///< anything else (no route, no descriptors, ...)
};
inline constexpr std::size_t error_kind_count = 6;

std::string_view to_string(error_kind kind);

struct error_counts {
    std::array<std::uint64_t, error_kind_count> by_kind{};

    void add(error_kind kind) { ++by_kind[static_cast<std::size_t>(kind)]; }
    std::uint64_t of(error_kind kind) const { return by_kind[static_cast<std::size_t>(kind)]; }
    std::uint64_t total() const;
    void merge(const error_counts& other);
};

/// One thread's measurements over one interval (a second, or the whole run once merged).
struct interval_stats {
    std::uint64_t requests = 0;  ///< responses received and verified
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t connects = 0;  ///< connections established
    /// When the first and the last of `connects` were established (unset while connects is 0).
    /// The report's connect rate is over this span: over the whole run it would be meaningless
    /// when every connection opened in the first moment.
    std::chrono::steady_clock::time_point first_connect{};
    std::chrono::steady_clock::time_point last_connect{};
    error_counts errors;
    /// Request latency. Closed loop: from send to complete response. Open loop: from the
    /// request's planned send time (corrected for coordinated omission, as wrk2 does).
    histogram latency;
    /// Open loop only: from the actual send time (what a naive client would report).
    histogram uncorrected;
    /// Time from connect() to established.
    histogram connect_latency;

    /// Counts a connection established at `at`, `took_ns` after its connect began.
    void count_connect(std::chrono::steady_clock::time_point at, std::uint64_t took_ns);
    void merge(const interval_stats& other);
};

}  // namespace pierload
