// A self-contained SVG picture of a pierload run, readable in any browser with no other tool:
// requests/s per second, p50 and p99 latency per second, and the latency percentile curve.
//
// Pure: data in, SVG text out.
#pragma once

#include <string>
#include <vector>

namespace pierload {

/// One point of a latency percentile curve.
struct percentile_point {
    double percentile = 0;  ///< 0..100
    double latency_ms = 0;
};

struct plot_input {
    std::string title;     ///< e.g. "pierload echo 127.0.0.1:7000 - 1000 connections, 10s"
    std::string subtitle;  ///< e.g. "152,345 req/s, p99 0.41 ms, 0 errors"
    /// Per-second series, all the same length: second index (1-based, after warmup) and values.
    std::vector<double> seconds;
    std::vector<double> requests_per_second;
    std::vector<double> p50_ms;
    std::vector<double> p99_ms;
    /// Latency by percentile, ascending in percentile (e.g. from 0 to 99.999 and 100).
    std::vector<percentile_point> latency_curve;
    /// Open loop only: the uncorrected curve (from actual send time), drawn beside the
    /// corrected one; empty in closed loop.
    std::vector<percentile_point> uncorrected_curve;
};

/// Renders the run as one SVG document.
std::string render_svg(const plot_input& input);

}  // namespace pierload
