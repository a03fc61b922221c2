// The plot's geometry and palette: where each panel sits on the canvas, the colours of grid
// and axes, and how each series is drawn. Every position, size and colour of the picture is
// here, so the arithmetic that makes the bands add up to the canvas stays in one place.
// Private to the plot (plot.cpp and plot/); constants only, any thread.
#pragma once

namespace pierload::plot_detail {

// Canvas geometry in viewBox units (px at 100% zoom). The plot area leaves 80 px on the left
// for tick labels and the rotated axis title, and 45 px on the right so the last x tick label
// (up to "99.9999999%") is not cut off.
inline constexpr double canvas_width = 1000;
inline constexpr double canvas_height = 900;
inline constexpr double plot_left = 80;
inline constexpr double plot_right = 955;
// Each panel is a 276 px band: heading at +16, plot area from +28 to +218, tick labels at
// +234, axis title at +252. Three bands after a 72 px title block end at 900.
inline constexpr double first_panel_top = 72;
inline constexpr double panel_pitch = 276;
inline constexpr double heading_baseline = 16;
inline constexpr double plot_top_offset = 28;
inline constexpr double plot_height = 190;

// Rough advance width of the 12 px sans-serif legend font, used to right-align legend entries
// without measuring text (SVG 1.1 has no layout); generous so entries never overlap.
inline constexpr double legend_char_width = 6.8;

inline constexpr const char* grid_color = "#e3e3e3";
inline constexpr const char* axis_color = "#444444";

/// How one data series is drawn; dashed vs solid keeps series apart in grayscale.
struct series_style {
    const char* id;  ///< element id, so tests and readers can find the series
    const char* color;
    bool dashed;
    const char* label;  ///< legend text
};

// Tableau-10 blue/red/orange: distinguishable for the common color-vision deficiencies and, with
// the dash pattern, in grayscale.
inline constexpr series_style rps_style{"rps-line", "#1f77b4", false, "requests/s"};
inline constexpr series_style p50_style{"p50-line", "#1f77b4", false, "p50"};
inline constexpr series_style p99_style{"p99-line", "#d62728", true, "p99"};
inline constexpr series_style corrected_style{"corrected-curve", "#1f77b4", false,
                                              "corrected (from planned send)"};
inline constexpr series_style uncorrected_style{"uncorrected-curve", "#ff7f0e", true,
                                                "uncorrected (from actual send)"};

/// The plot area of one panel in canvas coordinates (y grows downwards).
struct plot_area {
    double left = plot_left;
    double top = 0;
    double right = plot_right;
    double bottom = 0;
};

/// The top of panel `index`'s band (0 is the uppermost), where its heading row starts.
inline double top_of_panel(int index) { return first_panel_top + panel_pitch * index; }

/// The plot area of panel `index`, below its heading row.
inline plot_area area_of_panel(int index) {
    const double top = top_of_panel(index) + plot_top_offset;
    return {plot_left, top, plot_right, top + plot_height};
}

}  // namespace pierload::plot_detail
