// Unit tests for pierload::render_svg: document structure (balanced tags, XML escaping), content
// (headings, legends), robustness (no NaN/inf for empty, single, zero or huge input) and the
// geometry of the series (point counts, y direction, the log percentile axis). Pure text checks.
// The last cases test the plot's pure helpers (steps, tick labels, the percentile axis, number
// and text writing) directly, through their internal headers.
#include "pierload/plot.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

// Internal to pierload: the plot's own helpers, not part of its API.
#include "../src/plot/axes.hpp"
#include "../src/plot/svg_writer.hpp"

namespace {

using pierload::percentile_point;
using pierload::plot_input;
using pierload::render_svg;

/// A short but complete run: 5 seconds of rising load and a curve with a 100% point.
plot_input sample_input() {
    plot_input in;
    in.title = "pierload echo 127.0.0.1:7000 - 100 connections, 5s";
    in.subtitle = "150,000 req/s, p99 1.2 ms, 0 errors";
    in.seconds = {1, 2, 3, 4, 5};
    in.requests_per_second = {140'000, 145'000, 150'000, 155'000, 160'000};
    in.p50_ms = {0.3, 0.31, 0.29, 0.3, 0.32};
    in.p99_ms = {1.1, 1.2, 1.3, 1.2, 1.15};
    in.latency_curve = {{0, 0.05}, {50, 0.3}, {90, 0.6}, {99, 1.2}, {99.9, 5}, {100, 40}};
    return in;
}

/// Checks that tags nest properly with a minimal stack parser: every `<name ...>` is closed by
/// `</name>` in order, `<name .../>` closes itself, and `<?...?>` is skipped. Returns "" when
/// well formed, otherwise what went wrong.
std::string check_balanced(std::string_view doc) {
    std::vector<std::string> stack;
    std::size_t pos = 0;
    while ((pos = doc.find('<', pos)) != std::string_view::npos) {
        const std::size_t end = doc.find('>', pos);
        if (end == std::string_view::npos) {
            return "unterminated tag at " + std::to_string(pos);
        }
        const std::string_view tag = doc.substr(pos + 1, end - pos - 1);
        pos = end + 1;
        if (tag.empty()) {
            return "empty tag";
        }
        if (tag.front() == '?') {
            continue;
        }
        if (tag.front() == '/') {
            const std::string name(tag.substr(1));
            if (stack.empty() || stack.back() != name) {
                return "unexpected </" + name + ">";
            }
            stack.pop_back();
            continue;
        }
        const std::size_t name_end = tag.find_first_of(" \n\t/");
        const std::string name(tag.substr(0, name_end));
        if (tag.back() != '/') {
            stack.push_back(name);
        }
    }
    if (!stack.empty()) {
        return "unclosed <" + stack.back() + ">";
    }
    return "";
}

std::size_t count_of(std::string_view doc, std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t pos = doc.find(needle); pos != std::string_view::npos;
         pos = doc.find(needle, pos + 1)) {
        ++n;
    }
    return n;
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

/// The whole start tag of the element with id="id", or "" if there is none.
std::string element_with_id(const std::string& doc, std::string_view id) {
    const std::size_t at = doc.find("id=\"" + std::string(id) + "\"");
    if (at == std::string::npos) {
        return "";
    }
    const std::size_t begin = doc.rfind('<', at);
    const std::size_t end = doc.find('>', at);
    return doc.substr(begin, end - begin + 1);
}

/// The value of attribute `name` in a start tag.
std::string attribute(const std::string& tag, std::string_view name) {
    const std::string key = " " + std::string(name) + "=\"";
    const std::size_t at = tag.find(key);
    if (at == std::string::npos) {
        return "";
    }
    const std::size_t begin = at + key.size();
    return tag.substr(begin, tag.find('"', begin) - begin);
}

struct xy {
    double x;
    double y;
};

/// Parses a polyline points attribute "x,y x,y ...".
std::vector<xy> parse_points(const std::string& points) {
    std::vector<xy> out;
    const char* p = points.c_str();
    char* end = nullptr;
    while (*p != '\0') {
        const double x = std::strtod(p, &end);
        REQUIRE(*end == ',');
        const double y = std::strtod(end + 1, &end);
        out.push_back({x, y});
        p = end;
        while (*p == ' ') {
            ++p;
        }
    }
    return out;
}

/// Points of the polyline with id="id".
std::vector<xy> polyline_points(const std::string& doc, std::string_view id) {
    const std::string tag = element_with_id(doc, id);
    REQUIRE_MESSAGE(tag.rfind("<polyline", 0) == 0, "no polyline with id ", id);
    return parse_points(attribute(tag, "points"));
}

/// The x attribute of the <text> whose content is exactly `content`.
double text_x(const std::string& doc, std::string_view content) {
    const std::size_t at = doc.find(">" + std::string(content) + "</text>");
    REQUIRE_MESSAGE(at != std::string::npos, "no text ", content);
    const std::size_t begin = doc.rfind("<text", at);
    return std::strtod(attribute(doc.substr(begin, at - begin + 1), "x").c_str(), nullptr);
}

void check_no_nan_or_inf(const std::string& doc) {
    const std::string lower = lowercase(doc);
    CHECK(lower.find("nan") == std::string::npos);
    CHECK(lower.find("inf") == std::string::npos);
}

}  // namespace

TEST_CASE("plot: output is one well-formed SVG document") {
    // Proves the document framing and tag nesting hold with data and without.
    for (const plot_input& in : {sample_input(), plot_input{}}) {
        std::string doc = render_svg(in);
        CHECK(doc.rfind("<?xml", 0) == 0);
        CHECK(doc.find("<svg") == doc.find('\n') + 1);
        while (!doc.empty() && doc.back() == '\n') {
            doc.pop_back();
        }
        CHECK(std::string_view(doc).substr(doc.size() - 6) == "</svg>");
        CHECK(check_balanced(doc) == "");
        CHECK(count_of(doc, "<svg") == 1);
        CHECK(count_of(doc, "<text") == count_of(doc, "</text>"));
        CHECK(count_of(doc, "<g") == count_of(doc, "</g>"));
        CHECK(doc.find("viewBox=\"0 0 1000 900\"") != std::string::npos);
        CHECK(doc.find("<script") == std::string::npos);
        CHECK(doc.find("href") == std::string::npos);
    }
}

TEST_CASE("plot: shows title, subtitle, panel headings and legend labels") {
    // Proves every piece of text a reader needs is in the document.
    plot_input in = sample_input();
    in.uncorrected_curve = {{0, 0.05}, {90, 0.5}, {99, 0.9}, {100, 3}};
    const std::string doc = render_svg(in);
    for (const char* text :
         {"pierload echo 127.0.0.1:7000 - 100 connections, 5s",
          "150,000 req/s, p99 1.2 ms, 0 errors", ">Requests per second<",
          ">Latency per second (ms)<", ">Latency by percentile<", ">p50<", ">p99<",
          ">corrected (from planned send)<", ">uncorrected (from actual send)<", ">time (s)<",
          ">percentile<", ">0%<", ">90%<", ">99%<", ">99.9%<", ">99.99%<", ">99.999%<"}) {
        CHECK_MESSAGE(doc.find(text) != std::string::npos, text);
    }
}

TEST_CASE("plot: escapes XML special characters in title and subtitle") {
    // Proves user text cannot break the markup: all five specials become entities.
    plot_input in = sample_input();
    in.title = "a <&> \"b\" 'c'";
    in.subtitle = "x < y && y > z";
    const std::string doc = render_svg(in);
    CHECK(doc.find("a &lt;&amp;&gt; &quot;b&quot; &apos;c&apos;") != std::string::npos);
    CHECK(doc.find("x &lt; y &amp;&amp; y &gt; z") != std::string::npos);
    CHECK(doc.find("<&>") == std::string::npos);
    CHECK(check_balanced(doc) == "");
}

TEST_CASE("plot: never writes nan or inf") {
    // Proves degenerate input still yields finite numbers only, with "no data" where empty.
    plot_input in;
    SUBCASE("empty input") {
        const std::string doc = render_svg(in);
        check_no_nan_or_inf(doc);
        CHECK(count_of(doc, ">no data<") == 3);
        CHECK(check_balanced(doc) == "");
    }
    SUBCASE("one point") {
        in.seconds = {1};
        in.requests_per_second = {1000};
        in.p50_ms = {0.3};
        in.p99_ms = {1.0};
        in.latency_curve = {{50, 0.3}};
        const std::string doc = render_svg(in);
        check_no_nan_or_inf(doc);
        CHECK(doc.find(">no data<") == std::string::npos);
    }
    SUBCASE("all-zero series") {
        in.seconds = {1, 2, 3};
        in.requests_per_second = {0, 0, 0};
        in.p50_ms = {0, 0, 0};
        in.p99_ms = {0, 0, 0};
        in.latency_curve = {{0, 0}, {50, 0}, {100, 0}};
        in.uncorrected_curve = {{0, 0}, {100, 0}};
        check_no_nan_or_inf(render_svg(in));
    }
    SUBCASE("huge values") {
        in.seconds = {1, 2, 1e12};
        in.requests_per_second = {1e12, 5e11, 1e12};
        in.p50_ms = {1e12, 1e12, 1e12};
        in.p99_ms = {1e12, 2e12, 1e12};
        in.latency_curve = {{0, 1}, {99.99999999, 1e12}, {100, 1e12}};
        const std::string doc = render_svg(in);
        check_no_nan_or_inf(doc);
        CHECK(doc.find(">1T<") != std::string::npos);
    }
    SUBCASE("non-finite input values are skipped") {
        const double nan = std::nan("");
        const double inf = HUGE_VAL;
        in.seconds = {1, 2, 3, nan};
        in.requests_per_second = {nan, inf, 100, 200};
        in.p50_ms = {inf, -inf, nan, 1};
        in.p99_ms = {nan};
        in.latency_curve = {{nan, 1}, {50, inf}, {90, 2}};
        in.uncorrected_curve = {{inf, 1}};
        const std::string doc = render_svg(in);
        check_no_nan_or_inf(doc);
        CHECK(check_balanced(doc) == "");
    }
    SUBCASE("uncorrected curve present") {
        in = sample_input();
        in.uncorrected_curve = {{0, 0.05}, {99, 0.9}, {100, 3}};
        check_no_nan_or_inf(render_svg(in));
    }
    SUBCASE("uncorrected curve absent") {
        in = sample_input();
        check_no_nan_or_inf(render_svg(in));
    }
}

TEST_CASE("plot: legend for the uncorrected curve appears only when that curve is given") {
    // Proves closed-loop runs (no uncorrected curve) get no misleading corrected/uncorrected
    // legend.
    plot_input in = sample_input();
    const std::string without = render_svg(in);
    CHECK(without.find("uncorrected (from actual send)") == std::string::npos);
    CHECK(without.find("corrected (from planned send)") == std::string::npos);
    CHECK(element_with_id(without, "uncorrected-curve").empty());
    CHECK_FALSE(element_with_id(without, "corrected-curve").empty());

    in.uncorrected_curve = {{0, 0.05}, {90, 0.5}, {99, 0.9}, {100, 3}};
    const std::string with = render_svg(in);
    CHECK(with.find(">uncorrected (from actual send)<") != std::string::npos);
    CHECK(with.find(">corrected (from planned send)<") != std::string::npos);
    CHECK(polyline_points(with, "uncorrected-curve").size() == 4);
}

TEST_CASE("plot: requests per second line has one point per second, higher values drawn higher") {
    // Proves the series is neither dropped nor resampled and the y axis is not upside down.
    plot_input in = sample_input();
    in.seconds.clear();
    in.requests_per_second.clear();
    for (int s = 1; s <= 30; ++s) {
        in.seconds.push_back(s);
        in.requests_per_second.push_back(1000.0 * s * s);
    }
    const std::vector<xy> points = polyline_points(render_svg(in), "rps-line");
    REQUIRE(points.size() == 30);
    for (std::size_t i = 1; i < points.size(); ++i) {
        CHECK(points[i].x > points[i - 1].x);
        CHECK(points[i].y < points[i - 1].y);
    }
}

TEST_CASE("plot: a single point is drawn as a dot") {
    // Proves a one-second run still shows its value (a one-point polyline would be invisible).
    plot_input in;
    in.seconds = {1};
    in.requests_per_second = {5000};
    const std::string doc = render_svg(in);
    const std::string dot = element_with_id(doc, "rps-line");
    REQUIRE(dot.rfind("<circle", 0) == 0);
    const double cx = std::strtod(attribute(dot, "cx").c_str(), nullptr);
    const double cy = std::strtod(attribute(dot, "cy").c_str(), nullptr);
    CHECK(cx > 80);
    CHECK(cx < 955);
    CHECK(cy > 0);
    CHECK(cy < 900);
}

TEST_CASE("plot: percentile axis is logarithmic in 1/(1-p)") {
    // Proves 90%, 99%, 99.9% are ordered and a decade apart, and 100% sits on the last tick.
    plot_input in;
    in.latency_curve = {{0, 0.1}, {90, 0.5}, {99, 1}, {99.9, 2}, {100, 4}};
    const std::string doc = render_svg(in);
    const std::vector<xy> points = polyline_points(doc, "corrected-curve");
    REQUIRE(points.size() == 5);
    const double x90 = points[1].x;
    const double x99 = points[2].x;
    const double x999 = points[3].x;
    CHECK(x99 > x90);
    CHECK(x99 < x999);
    CHECK(x99 - x90 == doctest::Approx(x90 - points[0].x).epsilon(0.01));
    CHECK(x999 - x99 == doctest::Approx(x99 - x90).epsilon(0.01));
    CHECK(x90 == doctest::Approx(text_x(doc, "90%")).epsilon(0.001));
    CHECK(x99 == doctest::Approx(text_x(doc, "99%")).epsilon(0.001));
    CHECK(x999 == doctest::Approx(text_x(doc, "99.9%")).epsilon(0.001));
    CHECK(points[4].x == doctest::Approx(text_x(doc, "99.999%")).epsilon(0.001));
    // Higher latency is higher on screen.
    CHECK(points[4].y < points[3].y);
}

TEST_CASE("plot: y ticks use 1-2-5 steps with k and M suffixes") {
    // Proves tick labels are short and round: 150k req/s reads "50k, 100k, 150k".
    plot_input in = sample_input();
    std::string doc = render_svg(in);
    for (const char* label : {">0<", ">50k<", ">100k<", ">150k<"}) {
        CHECK_MESSAGE(doc.find(label) != std::string::npos, label);
    }
    CHECK(doc.find(">200k<") != std::string::npos);  // the axis ends on a tick above 160k
    in.requests_per_second = {1.5e6, 2.5e6, 3e6, 2e6, 1e6};
    doc = render_svg(in);
    for (const char* label : {">1M<", ">2M<", ">3M<"}) {
        CHECK_MESSAGE(doc.find(label) != std::string::npos, label);
    }
}

TEST_CASE("plot: every line stays inside its panel with at most two decimals") {
    // Proves out-of-range values are clamped into the plot area and numbers stay short.
    plot_input in = sample_input();
    in.requests_per_second = {-5, 1e12, 3, 4, 5};  // negative and outlier values are clamped
    in.uncorrected_curve = {{-10, 1}, {150, 2}};
    const std::string doc = render_svg(in);
    struct band {
        const char* id;
        double top;  // the panel's plot area, from plot/layout.hpp
        double bottom;
    };
    for (const band& b :
         {band{"rps-line", 100, 290}, band{"p50-line", 376, 566}, band{"p99-line", 376, 566},
          band{"corrected-curve", 652, 842}, band{"uncorrected-curve", 652, 842}}) {
        const char* id = b.id;
        for (const xy& p : polyline_points(doc, id)) {
            CHECK(p.x >= 80);
            CHECK(p.x <= 955);
            CHECK(p.y >= b.top);
            CHECK(p.y <= b.bottom);
        }
        const std::string points = attribute(element_with_id(doc, id), "points");
        std::size_t digits_after_dot = 0;
        bool after_dot = false;
        for (const char c : points) {
            if (c == '.') {
                after_dot = true;
                digits_after_dot = 0;
            } else if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
                digits_after_dot += after_dot ? 1 : 0;
                CHECK(digits_after_dot <= 2);
            } else {
                after_dot = false;
            }
        }
    }
}

TEST_CASE("plot: nice_step is 1, 2 or 5 times a power of ten, and 1 for an empty range") {
    // Proves axes get round tick spacings and a degenerate range cannot produce a zero step.
    using pierload::plot_detail::nice_step;
    CHECK(nice_step(150'000, 5) == 50'000);  // 30k raw rounds up to 50k
    CHECK(nice_step(1, 5) == doctest::Approx(0.2));
    CHECK(nice_step(7, 7) == 1);
    CHECK(nice_step(11, 1) == 20);
    CHECK(nice_step(3e-7, 6) == doctest::Approx(5e-8));
    CHECK(nice_step(0, 5) == 1);
    CHECK(nice_step(-3, 5) == 1);
    CHECK(nice_step(std::nan(""), 5) == 1);
}

TEST_CASE("plot: tick labels use k/M/G/T suffixes and only the decimals the step needs") {
    // Proves tick labels stay short and never read "-0", "1e-17" or "150000.000000".
    using pierload::plot_detail::tick_label;
    CHECK(tick_label(150'000, 50'000) == "150k");
    CHECK(tick_label(2'500, 500) == "2.5k");
    CHECK(tick_label(1.5e6, 5e5) == "1.5M");
    CHECK(tick_label(1e12, 5e11) == "1T");
    CHECK(tick_label(-50'000, 10'000) == "-50k");
    CHECK(tick_label(0.4, 0.2) == "0.4");
    CHECK(tick_label(0.25, 0.05) == "0.25");
    CHECK(tick_label(1.2, 0.05) == "1.2");  // trailing zeros dropped
    CHECK(tick_label(7, 1) == "7");
    CHECK(tick_label(1e-17, 0.1) == "0");  // k * step a hair off zero
    CHECK(tick_label(-1e-17, 0.1) == "0");
    CHECK(tick_label(1e15, 1e14) == "1e+15");
    CHECK(tick_label(HUGE_VAL, 1) == "0");
}

TEST_CASE("plot: percentile axis is in decades of 1/(1-p), from 99.999% to at most 99.9999999%") {
    // Proves the axis transform, its tick labels, and where the axis ends for a given curve.
    using namespace pierload::plot_detail;
    CHECK(percentile_decades(0) == 0);
    CHECK(percentile_decades(90) == doctest::Approx(1));
    CHECK(percentile_decades(99) == doctest::Approx(2));
    CHECK(percentile_decades(99.9) == doctest::Approx(3));
    CHECK(percentile_decades(-5) == 0);  // clamped to 0%
    CHECK(std::isinf(percentile_decades(100)));
    CHECK(percentile_label(0) == "0%");
    CHECK(percentile_label(1) == "90%");
    CHECK(percentile_label(2) == "99%");
    CHECK(percentile_label(5) == "99.999%");
    CHECK(percentile_label(9) == "99.9999999%");
    CHECK(percentile_axis_end(0) == 5);
    CHECK(percentile_axis_end(percentile_decades(99.999)) == 5);
    CHECK(percentile_axis_end(5 + 1e-9) == 5);  // rounding noise stays on the 99.999% tick
    CHECK(percentile_axis_end(5.5) == 6);
    CHECK(percentile_axis_end(6) == 7);
    CHECK(percentile_axis_end(20) == 9);
}

TEST_CASE("plot: coordinates are short and finite, and text is escaped for XML") {
    // Proves the lowest layer alone keeps "nan", "-0" and markup out of the document.
    using pierload::plot_detail::append_coord;
    using pierload::plot_detail::append_escaped;
    std::string out;
    for (const double v : {12.34, 5.0, -7.26, -0.01, std::nan(""), HUGE_VAL, 999.95}) {
        append_coord(out, v);
        out += '|';
    }
    CHECK(out == "12.3|5|-7.3|0|0|0|1000|");
    out.clear();
    // Control characters other than tab and LF are dropped; UTF-8 passes through.
    append_escaped(out, "a<b>&\"'\x01\t\n\xc3\xa9");
    CHECK(out == "a&lt;b&gt;&amp;&quot;&apos;\t\n\xc3\xa9");
}
