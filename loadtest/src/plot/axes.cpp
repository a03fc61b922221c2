// The plot's axes as numbers (axes.hpp): ranges, 1-2-5 steps, ticks, tick labels and the
// percentile axis transform.
#include "axes.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace pierload::plot_detail {

double map_clamped(double v, double lo, double hi, double from, double to) {
    double frac = (v - lo) / (hi - lo);
    if (!std::isfinite(frac)) {
        frac = 0;
    }
    frac = std::clamp(frac, 0.0, 1.0);
    return from + frac * (to - from);
}

double nice_step(double range, double target) {
    const double raw = range / target;
    if (!(raw > 0) || !std::isfinite(raw)) {
        return 1;
    }
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    if (!(magnitude > 0) || !std::isfinite(magnitude)) {
        return 1;
    }
    const double norm = raw / magnitude;
    const double nice = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10;
    return nice * magnitude;
}

axis_range zero_based_range(double max_value) {
    // 1e-9: below this the tick labels (at most 9 decimals) could not tell ticks apart.
    if (!(max_value > 1e-9) || !std::isfinite(max_value)) {
        max_value = 1;
    }
    const double step = nice_step(max_value, 5);
    double hi = std::ceil(max_value / step) * step;
    if (!std::isfinite(hi) || hi < max_value) {
        // Overflow near DBL_MAX or a rounding shortfall: end exactly at the data.
        hi = max_value;
    }
    return {0, hi, step};
}

axis_range span_range(double lo, double hi) {
    if (!(hi - lo > 1e-9 * std::max(1.0, std::abs(lo)))) {
        lo -= 1;
        hi += 1;
    }
    const double step = nice_step(hi - lo, 6);
    axis_range range{std::floor(lo / step) * step, std::ceil(hi / step) * step, step};
    if (!std::isfinite(range.lo) || !std::isfinite(range.hi) || !(range.hi > range.lo)) {
        range = {lo, hi, step};
    }
    return range;
}

std::vector<double> ticks_of(const axis_range& range) {
    std::vector<double> ticks;
    const double first = std::ceil(range.lo / range.step - 1e-9);
    const double last = std::floor(range.hi / range.step + 1e-9);
    if (!std::isfinite(first) || !std::isfinite(last) || last - first > 50) {
        return ticks;
    }
    for (double k = first; k <= last; ++k) {
        ticks.push_back(k * range.step);
    }
    return ticks;
}

std::string tick_label(double v, double step) {
    if (std::abs(v) < std::abs(step) * 1e-6) {
        v = 0;  // k * step can land a hair off zero; print "0", not "-0" or "1e-17"
    }
    char buf[64];
    if (std::abs(v) >= 1e15 || !std::isfinite(v)) {
        std::snprintf(buf, sizeof buf, "%.3g", std::isfinite(v) ? v : 0.0);
        return buf;
    }
    struct unit {
        double scale;
        const char* suffix;
    };
    constexpr unit units[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
    double scale = 1;
    const char* suffix = "";
    for (const unit& u : units) {
        if (std::abs(v) >= u.scale) {
            scale = u.scale;
            suffix = u.suffix;
            break;
        }
    }
    const double scaled_step = step / scale;
    int decimals = 0;
    if (scaled_step < 1 && scaled_step > 0) {
        decimals = std::clamp(static_cast<int>(std::ceil(-std::log10(scaled_step) - 1e-9)), 0, 9);
    }
    const int n = std::snprintf(buf, sizeof buf, "%.*f", decimals, v / scale);
    std::string_view digits(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    if (digits.find('.') != std::string_view::npos) {
        digits.remove_suffix(digits.size() - 1 - digits.find_last_not_of('0'));
        if (digits.back() == '.') {
            digits.remove_suffix(1);
        }
    }
    if (digits == "-0") {
        digits = "0";
    }
    std::string text(digits);
    text += suffix;
    return text;
}

double percentile_decades(double percentile) {
    const double p = std::clamp(percentile, 0.0, 100.0);
    return std::log10(100.0 / (100.0 - p));
}

double percentile_axis_end(double largest_finite_decades) {
    double end = min_percentile_decades;
    // 1e-6: a percentile of 99.999 lands a hair either side of 5 decades after rounding, and
    // belongs on the 99.999% tick.
    if (largest_finite_decades > min_percentile_decades + 1e-6) {
        end = std::min(std::floor(largest_finite_decades + 1e-6) + 1, max_percentile_decades);
    }
    return end;
}

std::string percentile_label(int decades) {
    if (decades <= 0) {
        return "0%";
    }
    if (decades == 1) {
        return "90%";
    }
    std::string label = "99";
    if (decades > 2) {
        label += '.';
        label.append(static_cast<std::size_t>(decades - 2), '9');
    }
    label += '%';
    return label;
}

}  // namespace pierload::plot_detail
