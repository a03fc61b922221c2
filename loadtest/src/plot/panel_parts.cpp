// The parts every panel of the plot is drawn from (panel_parts.hpp): frame, grid, series,
// legend, "no data".
#include "panel_parts.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "axes.hpp"
#include "layout.hpp"
#include "svg_writer.hpp"

namespace pierload::plot_detail {

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
        out += dash_array_attribute;
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

void append_y_axis(std::string& out, const plot_area& area, const axis_range& range) {
    for (const double tick : ticks_of(range)) {
        const double y = map_clamped(tick, range.lo, range.hi, area.bottom, area.top);
        append_line(out, area.left, y, area.right, y, grid_color, 1);
        append_text(out, area.left - 6, y + 4, "tick", tick_label(tick, range.step), "end");
    }
    append_line(out, area.left, area.top, area.left, area.bottom, axis_color, 1);
}

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

}  // namespace pierload::plot_detail
