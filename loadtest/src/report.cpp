#include "pierload/report.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <array>
#include <optional>

namespace pierload {
namespace {

constexpr std::array<double, 6> report_percentiles{50, 90, 99, 99.9, 99.99, 100};

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

double per_second(std::uint64_t count, double seconds) {
    return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

/// "12.3s" from 10 s up; below, millisecond precision: a -n 1000 run takes milliseconds, and
/// "0.0s" would hide how long it measured.
std::string human_duration(double seconds) {
    if (seconds >= 10) return fmt::format("{:.1f}s", seconds);
    if (seconds >= 1) return fmt::format("{:.3f}s", seconds);
    return fmt::format("{:.3f}ms", seconds * 1e3);
}

/// Seconds from the first connection established to the last (0 with fewer than two).
double connect_span_s(const interval_stats& total) {
    if (total.connects < 2) return 0;
    return std::chrono::duration<double>(total.last_connect - total.first_connect).count();
}

/// Connections opened per second while they were opening: n opens, n-1 gaps between the first
/// and the last. None with fewer than two opens or all in one instant: a rate over the whole
/// run would say 100/s for 1000 connections that all opened in its first millisecond.
std::optional<double> connect_rate(const interval_stats& total) {
    const double span = connect_span_s(total);
    if (span <= 0) return std::nullopt;
    return static_cast<double>(total.connects - 1) / span;
}

std::string loop_kind(const options& opts) {
    return opts.rate > 0 ? fmt::format("open loop at {:g} req/s", opts.rate) : "closed loop";
}

void write_latency_line(std::ostream& out, std::string_view label, const histogram& h) {
    fmt::print(out,
               "{:<14}p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  p99.99 {:.3f}  "
               "max {:.3f}  mean {:.3f} ms\n",
               label, ms(h.value_at_percentile(50)), ms(h.value_at_percentile(90)),
               ms(h.value_at_percentile(99)), ms(h.value_at_percentile(99.9)),
               ms(h.value_at_percentile(99.99)), ms(h.max()), h.mean() / 1e6);
}

void write_connections_line(std::ostream& out, const run_result& result) {
    const auto& total = result.total;
    fmt::print(out, "{:<14}{} opened during measurement", "connections", total.connects);
    if (const auto rate = connect_rate(total)) {
        fmt::print(out, " over {} ({:.1f}/s)", human_duration(connect_span_s(total)), *rate);
    } else if (total.connects > 1) {
        out << " at once";
    }
    fmt::print(out, ", peak open {}\n", result.peak_connections);
}

/// A JSON string literal (our strings are addresses, modes and paths: escape the basics).
/// Not named `quoted`: on a std::string argument, argument-dependent lookup also finds
/// std::quoted, a better match wherever <iomanip> is included (GCC 14's <chrono> includes it).
std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
            out += c;
        }
    }
    return out + "\"";
}

void write_histogram_json(std::ostream& out, const histogram& h) {
    fmt::print(out, "{{\"count\":{},\"min_ms\":{:.6f},\"mean_ms\":{:.6f},\"max_ms\":{:.6f}",
               h.total_count(), ms(h.min()), h.mean() / 1e6, ms(h.max()));
    for (const double p : report_percentiles) {
        fmt::print(out, ",\"p{}_ms\":{:.6f}", p, ms(h.value_at_percentile(p)));
    }
    out << '}';
}

std::vector<percentile_point> curve_of(const histogram& h) {
    std::vector<percentile_point> curve;
    if (h.total_count() == 0) return curve;
    // Denser toward the tail, where the interesting part of a latency curve is.
    for (const double p :
         {0.0,  10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0,  75.0,  80.0,   85.0,   90.0, 92.5,
          95.0, 97.0, 98.0, 99.0, 99.5, 99.7, 99.9, 99.95, 99.99, 99.995, 99.999, 100.0}) {
        curve.push_back({p, ms(h.value_at_percentile(p))});
    }
    return curve;
}

}  // namespace

int exit_code_of(const run_result& result) {
    const auto& errors = result.total.errors;
    if (errors.of(error_kind::verify_mismatch) > 0) return exit_code::failed;
    if (errors.total() > result.used.max_errors) return exit_code::failed;
    return exit_code::ok;
}

void write_report(std::ostream& out, const run_result& result) {
    const auto& opts = result.used;
    const auto& total = result.total;
    const double seconds = std::chrono::duration<double>(result.measured).count();
    fmt::print(out, "pierload {} {}: {} connections, {} threads, {} measured", to_string(opts.mode),
               result.target, opts.connections, result.threads, human_duration(seconds));
    if (opts.warmup.count() > 0) {
        fmt::print(out, " after {} warmup",
                   human_duration(std::chrono::duration<double>(opts.warmup).count()));
    }
    fmt::print(out, ", {}", loop_kind(opts));
    if (opts.mode == load_mode::echo || opts.mode == load_mode::churn) {
        fmt::print(out, ", {} B messages", opts.size);
    }
    if (opts.pipeline > 1) fmt::print(out, ", pipeline {}", opts.pipeline);
    out << '\n';
    fmt::print(out, "{:<14}{} ({:.1f}/s)\n", "requests", total.requests,
               per_second(total.requests, seconds));
    fmt::print(out, "{:<14}sent {:.2f} MB ({:.2f} MB/s), received {:.2f} MB ({:.2f} MB/s)\n",
               "throughput", static_cast<double>(total.bytes_sent) / 1e6,
               per_second(total.bytes_sent, seconds) / 1e6,
               static_cast<double>(total.bytes_received) / 1e6,
               per_second(total.bytes_received, seconds) / 1e6);
    write_connections_line(out, result);
    if (total.connect_latency.total_count() > 0) {
        write_latency_line(out, "connect", total.connect_latency);
    }
    if (opts.rate > 0) {
        write_latency_line(out, "latency", total.latency);
        out << "              (corrected: measured from each request's planned send time)\n";
        write_latency_line(out, "uncorrected", total.uncorrected);
    } else {
        write_latency_line(out, "latency", total.latency);
    }
    fmt::print(out, "{:<14}{}", "errors", total.errors.total());
    if (total.errors.total() > 0) {
        out << " (";
        const char* separator = "";
        for (std::size_t i = 0; i < error_kind_count; ++i) {
            const auto kind = static_cast<error_kind>(i);
            fmt::print(out, "{}{} {}", separator, to_string(kind), total.errors.of(kind));
            separator = ", ";
        }
        out << ')';
    }
    out << '\n';
    if (exit_code_of(result) != exit_code::ok) {
        fmt::print(out, "FAILED: {}\n",
                   total.errors.of(error_kind::verify_mismatch) > 0
                       ? "responses did not match what was sent (verify mismatch)"
                       : fmt::format("{} errors, more than --max-errors {}", total.errors.total(),
                                     opts.max_errors));
    }
}

std::string live_line(const second_sample& s) {
    const double length = s.interval_s > 0 ? s.interval_s : 1;
    return fmt::format(
        "[{:6.1f}s]{} conns {:>7} | {:>10.0f} req/s | {:>8.2f} MB/s | p99 {:>8.3f} ms "
        "| errors {}",
        s.elapsed_s, s.warmup ? " warmup" : "", s.open_connections,
        static_cast<double>(s.requests) / length,
        static_cast<double>(s.bytes_sent + s.bytes_received) / length / 1e6, ms(s.p99_ns),
        s.errors);
}

void write_json(std::ostream& out, const run_result& result) {
    const auto& opts = result.used;
    const auto& total = result.total;
    const double seconds = std::chrono::duration<double>(result.measured).count();
    fmt::print(out, "{{\"target\":{},\"mode\":{},\"connections\":{},\"threads\":{},",
               json_string(result.target), json_string(to_string(opts.mode)), opts.connections,
               result.threads);
    fmt::print(out, "\"open_loop\":{},\"rate\":{},\"pipeline\":{},\"size\":{},",
               opts.rate > 0 ? "true" : "false", opts.rate, opts.pipeline, opts.size);
    fmt::print(out, "\"warmup_s\":{:.6f},\"measured_s\":{:.6f},",
               std::chrono::duration<double>(opts.warmup).count(), seconds);
    fmt::print(out, "\"requests\":{},\"requests_per_s\":{:.3f},", total.requests,
               per_second(total.requests, seconds));
    fmt::print(out, "\"bytes_sent\":{},\"bytes_received\":{},", total.bytes_sent,
               total.bytes_received);
    // connects_per_s as in the report: over the opens' own span, null when there is no rate.
    const auto rate = connect_rate(total);
    fmt::print(out,
               "\"connects\":{},\"connects_per_s\":{},\"connects_span_s\":{:.6f},"
               "\"peak_connections\":{},",
               total.connects, rate ? fmt::format("{:.3f}", *rate) : "null", connect_span_s(total),
               result.peak_connections);
    out << "\"latency\":";
    write_histogram_json(out, total.latency);
    if (opts.rate > 0) {
        out << ",\"uncorrected_latency\":";
        write_histogram_json(out, total.uncorrected);
    }
    out << ",\"connect_latency\":";
    write_histogram_json(out, total.connect_latency);
    fmt::print(out, ",\"errors\":{{\"total\":{}", total.errors.total());
    for (std::size_t i = 0; i < error_kind_count; ++i) {
        const auto kind = static_cast<error_kind>(i);
        fmt::print(out, ",{}:{}", json_string(to_string(kind)), total.errors.of(kind));
    }
    out << "},\"series\":[";
    const char* separator = "";
    for (const auto& s : result.series) {
        fmt::print(out,
                   "{}{{\"elapsed_s\":{:.3f},\"interval_s\":{:.3f},\"warmup\":{},"
                   "\"connections\":{},\"requests\":{},\"bytes_sent\":{},\"bytes_received\":{},"
                   "\"connects\":{},\"errors\":{},\"p50_ms\":{:.6f},\"p99_ms\":{:.6f}}}",
                   separator, s.elapsed_s, s.interval_s, s.warmup ? "true" : "false",
                   s.open_connections, s.requests, s.bytes_sent, s.bytes_received, s.connects,
                   s.errors, ms(s.p50_ns), ms(s.p99_ns));
        separator = ",";
    }
    fmt::print(out, "],\"exit_code\":{}}}\n", exit_code_of(result));
}

plot_input make_plot_input(const run_result& result) {
    const auto& opts = result.used;
    plot_input input;
    input.title = fmt::format("pierload {} {} - {} connections, {}", to_string(opts.mode),
                              result.target, opts.connections, loop_kind(opts));
    const double seconds = std::chrono::duration<double>(result.measured).count();
    input.subtitle =
        fmt::format("{:.0f} req/s, p50 {:.3f} ms, p99 {:.3f} ms, {} errors",
                    per_second(result.total.requests, seconds),
                    ms(result.total.latency.value_at_percentile(50)),
                    ms(result.total.latency.value_at_percentile(99)), result.total.errors.total());
    double index = 0;
    for (const auto& s : result.series) {
        if (s.warmup) continue;
        input.seconds.push_back(++index);
        input.requests_per_second.push_back(
            s.interval_s > 0 ? static_cast<double>(s.requests) / s.interval_s : 0);
        input.p50_ms.push_back(ms(s.p50_ns));
        input.p99_ms.push_back(ms(s.p99_ns));
    }
    input.latency_curve = curve_of(result.total.latency);
    if (opts.rate > 0) input.uncorrected_curve = curve_of(result.total.uncorrected);
    return input;
}

}  // namespace pierload
