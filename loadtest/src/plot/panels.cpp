// The plot's two kinds of panel (panels.hpp): per-second series over time, and latency by
// percentile.
#include "panels.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "axes.hpp"
#include "layout.hpp"
#include "panel_parts.hpp"
#include "pierload/plot.hpp"

namespace pierload::plot_detail {

namespace {

/// One per-second series in data units: x from `seconds` (or the 1-based index where `seconds`
/// is shorter than the series), non-finite entries skipped.
std::vector<point> per_second_points(const std::vector<double>& seconds,
                                     const std::vector<double>& values) {
    std::vector<point> points;
    points.reserve(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        const double x = i < seconds.size() ? seconds[i] : static_cast<double>(i + 1);
        if (std::isfinite(x) && std::isfinite(values[i])) {
            points.push_back({x, values[i]});
        }
    }
    return points;
}

}  // namespace

void append_time_panel(
    std::string& out, int index, std::string_view heading, std::string_view y_title,
    const std::vector<double>& seconds,
    std::initializer_list<std::pair<const std::vector<double>*, const series_style*>> series) {
    const double panel_top = top_of_panel(index);
    const plot_area area = area_of_panel(index);
    std::vector<std::vector<point>> data;
    bool any = false;
    double x_lo = 0;
    double x_hi = 0;
    double y_max = 0;
    for (const auto& [values, style] : series) {
        data.push_back(per_second_points(seconds, *values));
        for (const point& p : data.back()) {
            x_lo = any ? std::min(x_lo, p.x) : p.x;
            x_hi = any ? std::max(x_hi, p.x) : p.x;
            y_max = std::max(y_max, p.y);
            any = true;
        }
    }
    out += "<g class=\"panel\">\n";
    append_panel_frame(out, area, panel_top, heading, "time (s)", y_title);
    if (!any) {
        append_no_data(out, area);
        out += "</g>\n";
        return;
    }
    const axis_range x_range = span_range(x_lo, x_hi);
    const axis_range y_range = zero_based_range(y_max);
    append_y_axis(out, area, y_range);
    std::vector<double> positions;
    std::vector<std::string> labels;
    for (const double tick : ticks_of(x_range)) {
        positions.push_back(map_clamped(tick, x_range.lo, x_range.hi, area.left, area.right));
        labels.push_back(tick_label(tick, x_range.step));
    }
    append_x_axis(out, area, positions, labels);
    std::size_t i = 0;
    for (const auto& [values, style] : series) {
        std::vector<point> mapped;
        for (const point& p : data[i]) {
            mapped.push_back({map_clamped(p.x, x_range.lo, x_range.hi, area.left, area.right),
                              map_clamped(p.y, y_range.lo, y_range.hi, area.bottom, area.top)});
        }
        append_series(out, mapped, *style);
        ++i;
    }
    if (series.size() > 1) {
        // A one-series panel says what it shows in its heading; a legend would be noise.
        std::vector<const series_style*> styles;
        for (const auto& entry : series) {
            styles.push_back(entry.second);
        }
        append_legend(out, area.right, panel_top + heading_baseline, styles);
    }
    out += "</g>\n";
}

void append_percentile_panel(std::string& out, int index,
                             const std::vector<percentile_point>& corrected,
                             const std::vector<percentile_point>& uncorrected) {
    const double panel_top = top_of_panel(index);
    const plot_area area = area_of_panel(index);
    out += "<g class=\"panel\">\n";
    append_panel_frame(out, area, panel_top, "Latency by percentile", "percentile", "latency (ms)");

    bool any = false;
    double largest_finite = 0;
    double y_max = 0;
    for (const auto* curve : {&corrected, &uncorrected}) {
        for (const percentile_point& p : *curve) {
            if (!std::isfinite(p.percentile) || !std::isfinite(p.latency_ms)) {
                continue;
            }
            any = true;
            y_max = std::max(y_max, p.latency_ms);
            const double d = percentile_decades(p.percentile);
            if (std::isfinite(d)) {
                largest_finite = std::max(largest_finite, d);
            }
        }
    }
    if (!any) {
        append_no_data(out, area);
        out += "</g>\n";
        return;
    }

    const double end = percentile_axis_end(largest_finite);
    const axis_range y_range = zero_based_range(y_max);
    append_y_axis(out, area, y_range);
    std::vector<double> positions;
    std::vector<std::string> labels;
    for (int d = 0; d <= static_cast<int>(end); ++d) {
        positions.push_back(map_clamped(d, 0, end, area.left, area.right));
        labels.push_back(percentile_label(d));
    }
    append_x_axis(out, area, positions, labels);

    for (const auto& [curve, style] :
         {std::pair{&corrected, &corrected_style}, std::pair{&uncorrected, &uncorrected_style}}) {
        std::vector<point> mapped;
        for (const percentile_point& p : *curve) {
            if (!std::isfinite(p.percentile) || !std::isfinite(p.latency_ms)) {
                continue;
            }
            double d = percentile_decades(p.percentile);
            if (!std::isfinite(d)) {
                // 100% (the maximum) is infinitely far right on a log(1/(1-p)) axis; it is drawn
                // at the last tick so the max still shows, as the curve's final rise.
                d = end;
            }
            mapped.push_back(
                {map_clamped(d, 0, end, area.left, area.right),
                 map_clamped(p.latency_ms, y_range.lo, y_range.hi, area.bottom, area.top)});
        }
        append_series(out, mapped, *style);
    }
    if (!uncorrected.empty()) {
        append_legend(out, area.right, panel_top + heading_baseline,
                      {&corrected_style, &uncorrected_style});
    }
    out += "</g>\n";
}

}  // namespace pierload::plot_detail
