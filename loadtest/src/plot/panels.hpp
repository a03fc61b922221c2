// The plot's two kinds of panel, each drawn whole into its band of the canvas: per-second
// series over time (requests/s; p50 and p99), and latency by percentile on HdrHistogram's
// log(1/(1-p)) axis. Each skips non-finite input, fits its axes to what is left, and says
// "no data" when nothing is. Private to the plot (plot.cpp); pure, any thread.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "layout.hpp"
#include "pierload/plot.hpp"

namespace pierload::plot_detail {

/// A panel of per-second series sharing one time axis and one zero-based y axis, in band
/// `index`. x comes from `seconds`, or the 1-based index where `seconds` is shorter than a
/// series. A legend is drawn when there is more than one series.
void append_time_panel(
    std::string& out, int index, std::string_view heading, std::string_view y_title,
    const std::vector<double>& seconds,
    std::initializer_list<std::pair<const std::vector<double>*, const series_style*>> series);

/// The latency-by-percentile panel in band `index`: x in decades of 1/(1-p), y linear latency
/// from 0. The uncorrected curve, and the legend telling the two apart, are drawn only when
/// `uncorrected` is not empty (open loop).
void append_percentile_panel(std::string& out, int index,
                             const std::vector<percentile_point>& corrected,
                             const std::vector<percentile_point>& uncorrected);

}  // namespace pierload::plot_detail
