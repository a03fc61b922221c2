// Renders a pierload run as one self-contained SVG 1.1 document: a title block and three stacked
// panels (requests/s per second, p50/p99 per second, latency by percentile on HdrHistogram's
// log(1/(1-p)) axis). Pure string building with no I/O, so tests can check the text directly.
//
// Robustness rules, because the input comes from arbitrary runs: non-finite values are skipped,
// every coordinate is clamped into its panel, and every number is checked finite before it is
// written, so the document never contains "nan" or "inf" and no line leaves its panel.
#include "pierload/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pierload {

namespace {

// Canvas geometry in viewBox units (px at 100% zoom). The plot area leaves 80 px on the left
// for tick labels and the rotated axis title, and 45 px on the right so the last x tick label
// (up to "99.9999999%") is not cut off.
constexpr double canvas_width = 1000;
constexpr double canvas_height = 900;
constexpr double plot_left = 80;
constexpr double plot_right = 955;
// Each panel is a 276 px band: heading at +16, plot area from +28 to +218, tick labels at
// +234, axis title at +252. Three bands after a 72 px title block end at 900.
constexpr double first_panel_top = 72;
constexpr double panel_pitch = 276;
constexpr double heading_baseline = 16;
constexpr double plot_top_offset = 28;
constexpr double plot_height = 190;

// The percentile axis always reaches 99.999% (5 decades of 1/(1-p)), as HdrHistogram plots do,
// and never more than 9 decades, where tick labels ("99.9999999%") would start to collide.
constexpr double min_percentile_decades = 5;
constexpr double max_percentile_decades = 9;

// Rough advance width of the 12 px sans-serif legend font, used to right-align legend entries
// without measuring text (SVG 1.1 has no layout); generous so entries never overlap.
constexpr double legend_char_width = 6.8;

const char* const grid_color = "#e3e3e3";
const char* const axis_color = "#444444";

/// How one data series is drawn; dashed vs solid keeps series apart in grayscale.
struct series_style {
    const char* id;  ///< element id, so tests and readers can find the series
    const char* color;
    bool dashed;
    const char* label;  ///< legend text
};

// Tableau-10 blue/red/orange: distinguishable for the common color-vision deficiencies and, with
// the dash pattern, in grayscale.
constexpr series_style rps_style{"rps-line", "#1f77b4", false, "requests/s"};
constexpr series_style p50_style{"p50-line", "#1f77b4", false, "p50"};
constexpr series_style p99_style{"p99-line", "#d62728", true, "p99"};
constexpr series_style corrected_style{"corrected-curve", "#1f77b4", false,
                                       "corrected (from planned send)"};
constexpr series_style uncorrected_style{"uncorrected-curve", "#ff7f0e", true,
                                         "uncorrected (from actual send)"};

struct point {
    double x = 0;
    double y = 0;
};

/// A value range drawn on one axis, with the spacing of its ticks.
struct axis_range {
    double lo = 0;
    double hi = 1;
    double step = 1;
};

/// The plot area of one panel in canvas coordinates (y grows downwards).
struct plot_area {
    double left = plot_left;
    double top = 0;
    double right = plot_right;
    double bottom = 0;
};

/// Maps v from [lo, hi] onto [from, to], clamped, so nothing is drawn outside its panel and a
/// degenerate range or an overflowing value yields the axis origin instead of NaN.
double map_clamped(double v, double lo, double hi, double from, double to) {
    double frac = (v - lo) / (hi - lo);
    if (!std::isfinite(frac)) {
        frac = 0;
    }
    frac = std::clamp(frac, 0.0, 1.0);
    return from + frac * (to - from);
}

/// Appends a coordinate with one decimal, dropping a trailing ".0"; plenty for a 1000 px canvas.
void append_coord(std::string& out, double v) {
    if (!std::isfinite(v) || std::abs(v) < 0.05) {
        // Non-finite cannot happen after map_clamped; the guard keeps "nan" out regardless.
        // Tiny values print as "0" rather than "-0".
        v = 0;
    }
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%.1f", v);
    std::string_view text(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    if (text.size() >= 2 && text.substr(text.size() - 2) == ".0") {
        text.remove_suffix(2);
    }
    out += text;
}

/// Appends text with the five XML special characters escaped; control characters other than
/// tab and newline are dropped because XML 1.0 forbids them even as character references.
void append_escaped(std::string& out, std::string_view text) {
    for (const char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default:
                if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') {
                    out += c;
                }
        }
    }
}

/// A 1-2-5 step that splits `range` into about `target` intervals.
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

/// An axis from 0 up to a tick at or above `max_value`; an all-zero or empty series gets 0..1 so
/// its line lies on the x axis rather than dividing by zero.
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

/// An axis covering [lo, hi] widened to whole steps; a single value gets +-1 around it so the
/// point lands in the middle.
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

/// The multiples of range.step within the range; none if there would be absurdly many (a range
/// far from zero relative to its width, where k * step stops being exact).
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

/// A tick label: k/M/G/T suffixes from 1000 up, and just enough decimals for the step, so ticks
/// read "0, 50k, 100k, 150k" or "0, 0.2, 0.4" rather than "150000.000000".
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

/// HdrHistogram's percentile axis position: decades of 1/(1-p), so 0% -> 0, 90% -> 1, 99% -> 2,
/// 99.9% -> 3. Infinite for 100%; the caller clamps.
double percentile_decades(double percentile) {
    const double p = std::clamp(percentile, 0.0, 100.0);
    return std::log10(100.0 / (100.0 - p));
}

/// "0%", "90%", "99%", "99.9%", ...: the percentile at `decades` whole decades.
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

void append_text(std::string& out, double x, double y, const char* css_class, std::string_view text,
                 const char* anchor = nullptr) {
    out += "<text x=\"";
    append_coord(out, x);
    out += "\" y=\"";
    append_coord(out, y);
    out += "\" class=\"";
    out += css_class;
    out += '"';
    if (anchor != nullptr) {
        out += " text-anchor=\"";
        out += anchor;
        out += '"';
    }
    out += '>';
    append_escaped(out, text);
    out += "</text>\n";
}

void append_line(std::string& out, double x1, double y1, double x2, double y2, const char* color,
                 double width, bool dashed = false) {
    out += "<line x1=\"";
    append_coord(out, x1);
    out += "\" y1=\"";
    append_coord(out, y1);
    out += "\" x2=\"";
    append_coord(out, x2);
    out += "\" y2=\"";
    append_coord(out, y2);
    out += "\" stroke=\"";
    out += color;
    out += "\" stroke-width=\"";
    append_coord(out, width);
    out += '"';
    if (dashed) {
        out += " stroke-dasharray=\"7,4\"";
    }
    out += "/>\n";
}

/// Draws a series already mapped to canvas coordinates: a polyline for two or more points, a dot
/// for one (a one-point polyline would render as nothing).
void append_series(std::string& out, const std::vector<point>& points, const series_style& style) {
    if (points.empty()) {
        return;
    }
    if (points.size() == 1) {
        out += "<circle id=\"";
        out += style.id;
        out += "\" cx=\"";
        append_coord(out, points.front().x);
        out += "\" cy=\"";
        append_coord(out, points.front().y);
        out += "\" r=\"3.5\" fill=\"";
        out += style.color;
        out += "\"/>\n";
        return;
    }
    out += "<polyline id=\"";
    out += style.id;
    out += "\" fill=\"none\" stroke=\"";
    out += style.color;
    out += "\" stroke-width=\"1.8\" stroke-linejoin=\"round\"";
    if (style.dashed) {
        out += " stroke-dasharray=\"7,4\"";
    }
    out += " points=\"";
    for (std::size_t i = 0; i < points.size(); ++i) {
        if (i > 0) {
            out += ' ';
        }
        append_coord(out, points[i].x);
        out += ',';
        append_coord(out, points[i].y);
    }
    out += "\"/>\n";
}

/// Right-aligns legend entries (line sample + label) on the heading row, above the plot area, so
/// the legend never covers data.
void append_legend(std::string& out, double right, double baseline,
                   const std::vector<const series_style*>& entries) {
    constexpr double sample_width = 24;
    constexpr double sample_gap = 6;
    constexpr double entry_gap = 18;
    double width = 0;
    for (const series_style* s : entries) {
        width += sample_width + sample_gap +
                 legend_char_width * static_cast<double>(std::string_view(s->label).size());
    }
    width += entry_gap * static_cast<double>(entries.size() - 1);
    double x = right - width;
    out += "<g class=\"legend\">\n";
    for (const series_style* s : entries) {
        append_line(out, x, baseline - 4, x + sample_width, baseline - 4, s->color, 2.2, s->dashed);
        x += sample_width + sample_gap;
        append_text(out, x, baseline, "legend", s->label);
        x += legend_char_width * static_cast<double>(std::string_view(s->label).size()) + entry_gap;
    }
    out += "</g>\n";
}

/// The parts of a panel every panel has: heading, border, axis titles.
void append_panel_frame(std::string& out, const plot_area& area, double panel_top,
                        std::string_view heading, std::string_view x_title,
                        std::string_view y_title) {
    append_text(out, area.left, panel_top + heading_baseline, "heading", heading);
    append_text(out, (area.left + area.right) / 2, area.bottom + 34, "axis-title", x_title,
                "middle");
    const double y_mid = (area.top + area.bottom) / 2;
    out +=
        "<text x=\"0\" y=\"0\" class=\"axis-title\" text-anchor=\"middle\" transform=\"translate(";
    append_coord(out, 22);
    out += ' ';
    append_coord(out, y_mid);
    out += ") rotate(-90)\">";
    append_escaped(out, y_title);
    out += "</text>\n";
}

/// Light grey horizontal grid lines with labels at each y tick, and the y axis line.
void append_y_axis(std::string& out, const plot_area& area, const axis_range& range) {
    for (const double tick : ticks_of(range)) {
        const double y = map_clamped(tick, range.lo, range.hi, area.bottom, area.top);
        append_line(out, area.left, y, area.right, y, grid_color, 1);
        append_text(out, area.left - 6, y + 4, "tick", tick_label(tick, range.step), "end");
    }
    append_line(out, area.left, area.top, area.left, area.bottom, axis_color, 1);
}

/// Vertical grid lines at `positions` (already in canvas x) labelled with `labels`, and the x
/// axis line.
void append_x_axis(std::string& out, const plot_area& area, const std::vector<double>& positions,
                   const std::vector<std::string>& labels) {
    for (std::size_t i = 0; i < positions.size(); ++i) {
        const double x = positions[i];
        append_line(out, x, area.top, x, area.bottom, grid_color, 1);
        append_line(out, x, area.bottom, x, area.bottom + 4, axis_color, 1);
        append_text(out, x, area.bottom + 16, "tick", labels[i], "middle");
    }
    append_line(out, area.left, area.bottom, area.right, area.bottom, axis_color, 1);
}

void append_no_data(std::string& out, const plot_area& area) {
    out += "<rect x=\"";
    append_coord(out, area.left);
    out += "\" y=\"";
    append_coord(out, area.top);
    out += "\" width=\"";
    append_coord(out, area.right - area.left);
    out += "\" height=\"";
    append_coord(out, area.bottom - area.top);
    out += "\" fill=\"none\" stroke=\"";
    out += grid_color;
    out += "\"/>\n";
    append_text(out, (area.left + area.right) / 2, (area.top + area.bottom) / 2 + 5, "note",
                "no data", "middle");
}

plot_area area_of_panel(int index) {
    const double top = first_panel_top + panel_pitch * index + plot_top_offset;
    return {plot_left, top, plot_right, top + plot_height};
}

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

/// A panel of per-second series sharing one time axis and one zero-based y axis.
void append_time_panel(
    std::string& out, int index, std::string_view heading, std::string_view y_title,
    const std::vector<double>& seconds,
    std::initializer_list<std::pair<const std::vector<double>*, const series_style*>> series) {
    const double panel_top = first_panel_top + panel_pitch * index;
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

/// The latency-by-percentile panel: x in decades of 1/(1-p), y linear latency from 0.
void append_percentile_panel(std::string& out, int index,
                             const std::vector<percentile_point>& corrected,
                             const std::vector<percentile_point>& uncorrected) {
    const double panel_top = first_panel_top + panel_pitch * index;
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

    // The axis ends at 99.999% or, when finite points lie beyond it, one decade past the
    // largest of them; capped so tick labels stay legible.
    double end = min_percentile_decades;
    // 1e-6: 99.999 is 5.000000000002 decades after rounding, and belongs on the 99.999% tick.
    if (largest_finite > min_percentile_decades + 1e-6) {
        end = std::min(std::floor(largest_finite + 1e-6) + 1, max_percentile_decades);
    }
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

}  // namespace

std::string render_svg(const plot_input& input) {
    std::string out;
    out.reserve(32 * 1024);
    out += "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n";
    out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"";
    append_coord(out, canvas_width);
    out += "\" height=\"";
    append_coord(out, canvas_height);
    out += "\" viewBox=\"0 0 ";
    append_coord(out, canvas_width);
    out += ' ';
    append_coord(out, canvas_height);
    out += "\">\n<title>";
    append_escaped(out, input.title);
    out += "</title>\n";
    // Inline CSS only for text; system font names, so nothing is fetched.
    out += R"(<style type="text/css">
text {
  font-family: "Helvetica Neue", Helvetica, Arial, "Liberation Sans", "DejaVu Sans", sans-serif;
  fill: #222222;
}
.title { font-size: 20px; font-weight: bold; }
.subtitle { font-size: 13px; fill: #555555; }
.heading { font-size: 15px; font-weight: bold; }
.tick { font-size: 11px; fill: #555555; }
.axis-title { font-size: 12px; fill: #333333; }
.legend { font-size: 12px; }
.note { font-size: 14px; fill: #888888; }
</style>
)";
    out += "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
    append_text(out, plot_left, 30, "title", input.title);
    append_text(out, plot_left, 52, "subtitle", input.subtitle);

    append_time_panel(out, 0, "Requests per second", "requests/s", input.seconds,
                      {{&input.requests_per_second, &rps_style}});
    append_time_panel(out, 1, "Latency per second (ms)", "latency (ms)", input.seconds,
                      {{&input.p50_ms, &p50_style}, {&input.p99_ms, &p99_style}});
    append_percentile_panel(out, 2, input.latency_curve, input.uncorrected_curve);
    out += "</svg>\n";
    return out;
}

}  // namespace pierload
