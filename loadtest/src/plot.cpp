// Renders a pierload run as one self-contained SVG 1.1 document: a title block and three stacked
// panels (requests/s per second, p50/p99 per second, latency by percentile on HdrHistogram's
// log(1/(1-p)) axis). Pure string building with no I/O, so tests can check the text directly.
// This file composes the document; the parts live in plot/: layout.hpp (geometry and palette),
// svg_writer (coordinates, escaping, elements), axes (ranges, ticks, labels, the percentile
// axis), panel_parts (frame, grid, series, legend) and panels (the two kinds of panel).
//
// Robustness rules, because the input comes from arbitrary runs: non-finite values are skipped,
// every coordinate is clamped into its panel, and every number is checked finite before it is
// written, so the document never contains "nan" or "inf" and no line leaves its panel.
#include "pierload/plot.hpp"

#include <string>

#include "plot/layout.hpp"
#include "plot/panels.hpp"
#include "plot/svg_writer.hpp"

namespace pierload {

std::string render_svg(const plot_input& input) {
    using namespace plot_detail;
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
