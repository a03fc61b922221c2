#include "pierload/stats.hpp"

#include <algorithm>

namespace pierload {

std::string_view to_string(error_kind kind) {
    switch (kind) {
        case error_kind::refused: return "refused";
        case error_kind::reset: return "reset";
        case error_kind::timeout: return "timeout";
        case error_kind::verify_mismatch: return "verify_mismatch";
        case error_kind::unexpected_eof: return "unexpected_eof";
        case error_kind::other: return "other";
    }
    return "unknown";
}

std::uint64_t error_counts::total() const {
    std::uint64_t sum = 0;
    for (const auto count : by_kind) sum += count;
    return sum;
}

void error_counts::merge(const error_counts& other) {
    for (std::size_t i = 0; i < by_kind.size(); ++i) by_kind[i] += other.by_kind[i];
}

void interval_stats::count_connect(std::chrono::steady_clock::time_point at,
                                   std::uint64_t took_ns) {
    if (connects == 0 || at < first_connect) first_connect = at;
    if (connects == 0 || at > last_connect) last_connect = at;
    connects += 1;
    connect_latency.record(took_ns);
}

void interval_stats::merge(const interval_stats& other) {
    if (other.connects > 0) {
        // Unset times (no connects on one side) must not widen the span.
        first_connect =
            connects == 0 ? other.first_connect : std::min(first_connect, other.first_connect);
        last_connect =
            connects == 0 ? other.last_connect : std::max(last_connect, other.last_connect);
    }
    requests += other.requests;
    bytes_sent += other.bytes_sent;
    bytes_received += other.bytes_received;
    connects += other.connects;
    errors.merge(other.errors);
    latency.merge(other.latency);
    uncorrected.merge(other.uncorrected);
    connect_latency.merge(other.connect_latency);
}

}  // namespace pierload
