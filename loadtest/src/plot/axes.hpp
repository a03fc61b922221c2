// The plot's axes as numbers: value ranges with 1-2-5 tick steps, the ticks and their labels,
// the mapping of a value onto canvas coordinates, and HdrHistogram's percentile axis
// (decades of 1/(1-p)). No SVG here: the panels turn these into grid lines and labels.
// Private to the plot (plot.cpp and plot/); pure, any thread.
#pragma once

#include <string>
#include <vector>

namespace pierload::plot_detail {

/// The percentile axis always reaches 99.999% (5 decades of 1/(1-p)), as HdrHistogram plots do,
/// and never more than 9 decades, where tick labels ("99.9999999%") would start to collide.
inline constexpr double min_percentile_decades = 5;
inline constexpr double max_percentile_decades = 9;

/// A value range drawn on one axis, with the spacing of its ticks.
struct axis_range {
    double lo = 0;
    double hi = 1;
    double step = 1;
};

/// Maps v from [lo, hi] onto [from, to], clamped, so nothing is drawn outside its panel and a
/// degenerate range or an overflowing value yields the axis origin instead of NaN.
double map_clamped(double v, double lo, double hi, double from, double to);

/// A 1-2-5 step that splits `range` into about `target` intervals; 1 when `range` is not a
/// positive finite number.
double nice_step(double range, double target);

/// An axis from 0 up to a tick at or above `max_value`; an all-zero or empty series gets 0..1 so
/// its line lies on the x axis rather than dividing by zero.
axis_range zero_based_range(double max_value);

/// An axis covering [lo, hi] widened to whole steps; a single value gets +-1 around it so the
/// point lands in the middle.
axis_range span_range(double lo, double hi);

/// The multiples of range.step within the range; none if there would be absurdly many (a range
/// far from zero relative to its width, where k * step stops being exact).
std::vector<double> ticks_of(const axis_range& range);

/// A tick label: k/M/G/T suffixes from 1000 up, and just enough decimals for the step, so ticks
/// read "0, 50k, 100k, 150k" or "0, 0.2, 0.4" rather than "150000.000000".
std::string tick_label(double v, double step);

/// HdrHistogram's percentile axis position: decades of 1/(1-p), so 0% -> 0, 90% -> 1, 99% -> 2,
/// 99.9% -> 3. Infinite for 100%; the caller clamps.
double percentile_decades(double percentile);

/// Where the percentile axis ends, in decades, given the largest finite decades of any point
/// (0 if none): at 99.999% or, when points lie beyond it, one whole decade past the largest of
/// them; at most max_percentile_decades, so tick labels stay legible.
double percentile_axis_end(double largest_finite_decades);

/// "0%", "90%", "99%", "99.9%", ...: the percentile at `decades` whole decades.
std::string percentile_label(int decades);

}  // namespace pierload::plot_detail
