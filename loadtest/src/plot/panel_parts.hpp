// The parts every panel of the plot is drawn from: heading and axis titles, grid lines with
// tick labels, a data series, the legend, and the "no data" placeholder. Each takes canvas
// coordinates (the panels map data onto them) and appends SVG to `out`.
// Private to the plot (plot/panels.cpp); pure, any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "axes.hpp"
#include "layout.hpp"

namespace pierload::plot_detail {

/// A point of a series, in data units or, once mapped, in canvas coordinates.
struct point {
    double x = 0;
    double y = 0;
};

/// Draws a series already mapped to canvas coordinates: a polyline for two or more points, a dot
/// for one (a one-point polyline would render as nothing).
void append_series(std::string& out, const std::vector<point>& points, const series_style& style);

/// Right-aligns legend entries (line sample + label) on the heading row, above the plot area, so
/// the legend never covers data.
void append_legend(std::string& out, double right, double baseline,
                   const std::vector<const series_style*>& entries);

/// The text every panel has: its heading, and the titles of both axes (y rotated).
void append_panel_frame(std::string& out, const plot_area& area, double panel_top,
                        std::string_view heading, std::string_view x_title,
                        std::string_view y_title);

/// Light grey horizontal grid lines with labels at each y tick, and the y axis line.
void append_y_axis(std::string& out, const plot_area& area, const axis_range& range);

/// Vertical grid lines at `positions` (already in canvas x) labelled with `labels`, and the x
/// axis line.
void append_x_axis(std::string& out, const plot_area& area, const std::vector<double>& positions,
                   const std::vector<std::string>& labels);

/// A bordered empty plot area saying "no data", for a panel none of whose values is finite.
void append_no_data(std::string& out, const plot_area& area);

}  // namespace pierload::plot_detail
