// The plot's SVG text writer (svg_writer.hpp): coordinates, XML escaping, <text> and <line>.
#include "svg_writer.hpp"

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace pierload::plot_detail {

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

void append_text(std::string& out, double x, double y, const char* css_class, std::string_view text,
                 const char* anchor) {
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
                 double width, bool dashed) {
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
        out += dash_array_attribute;
    }
    out += "/>\n";
}

}  // namespace pierload::plot_detail
