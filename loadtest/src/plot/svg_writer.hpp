// The plot's SVG text writer: numbers as short coordinates, text as escaped XML, and the
// <text> and <line> elements the panels are made of. Knows SVG, not charts: nothing here
// decides where anything goes. Private to the plot (plot.cpp and plot/); pure, any thread.
#pragma once

#include <string>
#include <string_view>

namespace pierload::plot_detail {

/// The dash pattern of every dashed stroke, lines and series alike, so a legend sample looks
/// like the series it names.
inline constexpr const char* dash_array_attribute = " stroke-dasharray=\"7,4\"";

/// Appends a coordinate with one decimal, dropping a trailing ".0"; plenty for a 1000 px canvas.
/// A non-finite value is written as "0", so the document never contains "nan" or "inf".
void append_coord(std::string& out, double v);

/// Appends text with the five XML special characters escaped; control characters other than
/// tab and newline are dropped because XML 1.0 forbids them even as character references.
void append_escaped(std::string& out, std::string_view text);

/// Appends a <text> element at (x, y) with CSS class `css_class`, and a text-anchor when
/// `anchor` is given (SVG's default is "start").
void append_text(std::string& out, double x, double y, const char* css_class, std::string_view text,
                 const char* anchor = nullptr);

/// Appends a <line> element from (x1, y1) to (x2, y2), with dash_array_attribute when dashed.
void append_line(std::string& out, double x1, double y1, double x2, double y2, const char* color,
                 double width, bool dashed = false);

}  // namespace pierload::plot_detail
