#include "pierload/options.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/program_options.hpp>
#include <charconv>
#include <sstream>

#include "pier/config/safe_parse_error.hpp"
#include "pier/config/units.hpp"

namespace pierload {
namespace {

namespace po = boost::program_options;

po::options_description describe_options() {
    po::options_description load("Load");
    // clang-format off
    load.add_options()
        ("mode,m", po::value<std::string>()->value_name("MODE")->default_value("echo"),
            "echo | line | idle | churn")
        ("connections,c", po::value<std::string>()->value_name("N")->default_value("10"),
            "concurrent connections")
        ("threads,t", po::value<std::string>()->value_name("N"),
            "client threads (default: one per core)")
        ("duration,d", po::value<std::string>()->value_name("TIME")->default_value("10s"),
            "measured run time (\"30s\", \"2m\")")
        ("warmup", po::value<std::string>()->value_name("TIME")->default_value("0"),
            "load before measuring starts; excluded from results")
        ("requests,n", po::value<std::string>()->value_name("N"),
            "stop after N requests in total; without -d there is no time limit, but the run "
            "ends early once errors exceed --max-errors")
        ("rate,R", po::value<std::string>()->value_name("REQ/S"),
            "open loop: total requests per second on a fixed schedule; latency is measured "
            "from each request's planned send time (corrected for coordinated omission)")
        ("connect-rate", po::value<std::string>()->value_name("CONN/S"),
            "open at most this many connections per second (ramp-up)")
        ("connect-timeout", po::value<std::string>()->value_name("TIME")->default_value("5s"),
            "give up on a connect after this long (counted as a timeout)")
        ("timeout", po::value<std::string>()->value_name("TIME")->default_value("10s"),
            "a response slower than this is a timeout error; the connection is reopened")
        ("source-ips", po::value<std::string>()->value_name("RANGE"),
            "spread connections over local addresses, e.g. 127.0.0.1-127.0.0.32, so more "
            "connections fit than one address has ephemeral ports");
    po::options_description message("Messages");
    message.add_options()
        ("size,s", po::value<std::string>()->value_name("BYTES")->default_value("64"),
            "echo/churn message size (\"64\", \"4KiB\")")
        ("pipeline,p", po::value<std::string>()->value_name("N")->default_value("1"),
            "messages in flight per connection (echo, line)")
        ("request", po::value<std::string>()->value_name("TEXT")->default_value("PING\\r\\n"),
            "line mode request; escapes \\r \\n \\t \\0 \\\\ \\xHH")
        ("response-delimiter", po::value<std::string>()->value_name("TEXT")->default_value("\\n"),
            "line mode: a response ends with this");
    po::options_description output("Output");
    output.add_options()
        ("json", po::value<std::string>()->value_name("FILE"),
            "write every number of the report, and per-second series, as JSON (- = stdout)")
        ("hdr", po::value<std::string>()->value_name("FILE"),
            "write the latency distribution in HdrHistogram's .hgrm text format")
        ("plot", po::value<std::string>()->value_name("FILE.svg"),
            "write an SVG: requests/s and p50/p99 per second, and the latency percentile curve")
        ("max-errors", po::value<std::string>()->value_name("N")->default_value("0"),
            "exit non-zero when more errors than this occur")
        ("quiet,q", "no live progress line")
        ("help,h", "print this help and exit");
    // clang-format on
    po::options_description all;
    all.add(load).add(message).add(output);
    return all;
}

template <typename T>
std::optional<T> parse_number(std::string_view text) {
    T value{};
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
    return value;
}

std::optional<load_mode> parse_mode(std::string_view text) {
    for (const auto mode : {load_mode::echo, load_mode::line, load_mode::idle, load_mode::churn}) {
        if (to_string(mode) == text) return mode;
    }
    return std::nullopt;
}

/// "host:port", "[v6]:port"; the port may be a service name.
bool split_target(std::string_view target, std::string& host, std::string& port) {
    if (target.starts_with('[')) {
        const auto close = target.find(']');
        if (close == std::string_view::npos || close + 1 >= target.size() ||
            target[close + 1] != ':') {
            return false;
        }
        host = target.substr(1, close - 1);
        port = target.substr(close + 2);
    } else {
        const auto colon = target.rfind(':');
        if (colon == std::string_view::npos || target.find(':') != colon) return false;
        host = target.substr(0, colon);
        port = target.substr(colon + 1);
    }
    return !host.empty() && !port.empty();
}

}  // namespace

std::string_view to_string(load_mode mode) {
    switch (mode) {
        case load_mode::echo: return "echo";
        case load_mode::line: return "line";
        case load_mode::idle: return "idle";
        case load_mode::churn: return "churn";
    }
    return "unknown";
}

std::optional<std::string> unescape(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out += text[i];
            continue;
        }
        if (++i == text.size()) return std::nullopt;
        switch (text[i]) {
            case 'r': out += '\r'; break;
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case '0': out += '\0'; break;
            case '\\': out += '\\'; break;
            case 'x': {
                if (i + 2 >= text.size()) return std::nullopt;  // needs two hex digits
                unsigned value = 0;
                const auto* digits = text.data() + i + 1;
                const auto [ptr, ec] = std::from_chars(digits, digits + 2, value, 16);
                if (ec != std::errc() || ptr != digits + 2) return std::nullopt;
                out += static_cast<char>(value);
                i += 2;
                break;
            }
            default: return std::nullopt;
        }
    }
    return out;
}

std::optional<std::vector<std::string>> expand_source_ips(std::string_view text,
                                                          std::string& error) {
    // 65536: more addresses than any sane run needs, few enough to hold in memory.
    constexpr std::uint64_t max_addresses = 65536;
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto comma = text.find(',', start);
        if (comma == std::string_view::npos) comma = text.size();
        const auto item = text.substr(start, comma - start);
        const auto dash = item.find('-');
        boost::system::error_code ec1, ec2;
        const auto first = boost::asio::ip::make_address_v4(
            std::string(dash == std::string_view::npos ? item : item.substr(0, dash)), ec1);
        const auto last =
            dash == std::string_view::npos
                ? first
                : boost::asio::ip::make_address_v4(std::string(item.substr(dash + 1)), ec2);
        if (ec1 || ec2) {
            error = "bad address in --source-ips: \"" + std::string(item) +
                    "\" (expected IPv4 addresses like 127.0.0.1-127.0.0.32)";
            return std::nullopt;
        }
        if (last.to_uint() < first.to_uint()) {
            error = "--source-ips range ends before it starts: \"" + std::string(item) + "\"";
            return std::nullopt;
        }
        if (out.size() + (last.to_uint() - first.to_uint()) + 1 > max_addresses) {
            error = "--source-ips lists more than 65536 addresses";
            return std::nullopt;
        }
        for (auto value = first.to_uint();; ++value) {
            out.push_back(boost::asio::ip::address_v4(value).to_string());
            if (value == last.to_uint()) break;
        }
        start = comma + 1;
    }
    return out;
}

std::string usage_text() {
    std::ostringstream out;
    out << "Usage: pierload [options] HOST:PORT\n\n"
           "Load-tests a TCP service: pier, or anything that echoes or answers lines.\n"
        << describe_options()
        << "\nExamples:\n"
           "  pierload -c 1000 -d 10s 127.0.0.1:7000              closed-loop echo, 64 bytes\n"
           "  pierload -c 50 -R 20000 -d 30s --plot run.svg 127.0.0.1:7000\n"
           "                                                      open loop at 20k req/s\n"
           "  pierload -m line --request 'PING\\r\\n' -c 50 127.0.0.1:6379   redis PING\n"
           "  pierload -m idle -c 10000 -d 60s 127.0.0.1:7000     hold idle connections\n"
           "  pierload -m churn -c 20 -d 10s 127.0.0.1:7000       connections per second\n"
           "\nExit codes: 0 ok, 1 errors above --max-errors or a verify mismatch, "
           "2 bad arguments or set-up failure.\n";
    return out.str();
}

pier::result<options> parse_options(std::span<const char* const> args) {
    po::options_description visible = describe_options();
    po::options_description all;
    all.add(visible).add_options()("target", po::value<std::string>());
    po::positional_options_description positional;
    positional.add("target", 1);

    auto command_line = pier::config::parse_command_line(args, all, positional);
    if (!command_line) return pier::failure{command_line.error()};
    const po::variables_map& vm = command_line.value();
    options out;
    if (vm.count("help") > 0) {
        out.show_help = true;
        return out;
    }
    const auto fail = [](std::string message) { return pier::failure{std::move(message)}; };
    if (vm.count("target") == 0) return fail("missing HOST:PORT");
    if (!split_target(vm["target"].as<std::string>(), out.host, out.port)) {
        return fail("bad target \"" + vm["target"].as<std::string>() +
                    "\" (expected HOST:PORT, or [IPv6]:PORT)");
    }
    const auto text = [&](const char* name) { return vm[name].as<std::string>(); };

    const auto mode = parse_mode(text("mode"));
    if (!mode) {
        return fail("bad --mode \"" + text("mode") + "\" (expected echo, line, idle or churn)");
    }
    out.mode = *mode;

    // Counts: positive integers.
    struct count_option {
        const char* name;
        std::size_t* target;
        std::uint64_t max;
    };
    std::size_t threads = 0;
    for (const auto& [name, target, max] :
         {count_option{"connections", &out.connections, 10'000'000},
          count_option{"pipeline", &out.pipeline, 1024}, count_option{"threads", &threads, 1024}}) {
        if (vm.count(name) == 0) continue;
        const auto value = parse_number<std::uint64_t>(text(name));
        if (!value || *value == 0 || *value > max) {
            return fail("bad --" + std::string(name) + " \"" + text(name) +
                        "\" (expected an integer from 1 to " + std::to_string(max) + ")");
        }
        *target = static_cast<std::size_t>(*value);
    }
    out.threads = static_cast<unsigned>(threads);

    // Durations in human units.
    struct duration_option {
        const char* name;
        std::chrono::nanoseconds* target;
        bool allow_zero;
    };
    for (const auto& [name, target, allow_zero] :
         {duration_option{"duration", &out.duration, false},
          duration_option{"warmup", &out.warmup, true},
          duration_option{"connect-timeout", &out.connect_timeout, false},
          duration_option{"timeout", &out.request_timeout, false}}) {
        const auto parsed = pier::config::parse_duration(text(name));
        if (!parsed.ok()) return fail("bad --" + std::string(name) + ": " + parsed.error());
        if (!allow_zero && parsed.value().count() == 0) {
            return fail("bad --" + std::string(name) + ": must be more than 0");
        }
        *target = parsed.value();
    }

    out.duration_given = !vm["duration"].defaulted();

    const auto size = pier::config::parse_size(text("size"));
    if (!size.ok()) return fail("bad --size: " + size.error());
    // 64MiB: a message is held in memory twice per connection (sent and expected).
    if (size.value() == 0 || size.value() > 64ull << 20) {
        return fail("bad --size \"" + text("size") + "\" (expected 1 byte to 64MiB)");
    }
    out.size = static_cast<std::size_t>(size.value());

    if (vm.count("requests") > 0) {
        const auto value = parse_number<std::uint64_t>(text("requests"));
        if (!value || *value == 0) return fail("bad --requests \"" + text("requests") + "\"");
        out.requests = *value;
    }
    for (const auto& [name, target] :
         {std::pair{"rate", &out.rate}, std::pair{"connect-rate", &out.connect_rate}}) {
        if (vm.count(name) == 0) continue;
        const auto value = parse_number<double>(text(name));
        if (!value || !(*value > 0) || *value > 1e9) {
            return fail("bad --" + std::string(name) + " \"" + text(name) +
                        "\" (expected a number above 0)");
        }
        *target = *value;
    }
    const auto max_errors = parse_number<std::uint64_t>(text("max-errors"));
    if (!max_errors) return fail("bad --max-errors \"" + text("max-errors") + "\"");
    out.max_errors = *max_errors;

    for (const auto& [name, target] : {std::pair{"request", &out.request},
                                       std::pair{"response-delimiter", &out.response_delimiter}}) {
        auto decoded = unescape(text(name));
        if (!decoded || decoded->empty()) {
            return fail("bad --" + std::string(name) + " \"" + text(name) +
                        "\" (empty, or a bad escape; known: \\r \\n \\t \\0 \\\\ \\xHH)");
        }
        *target = std::move(*decoded);
    }
    if (vm.count("source-ips") > 0) {
        std::string error;
        auto ips = expand_source_ips(text("source-ips"), error);
        if (!ips) return fail(error);
        out.source_ips = std::move(*ips);
    }
    out.quiet = vm.count("quiet") > 0;
    if (vm.count("json") > 0) out.json_path = text("json");
    if (vm.count("hdr") > 0) out.hdr_path = text("hdr");
    if (vm.count("plot") > 0) out.plot_path = text("plot");
    if (out.rate > 0 && out.pipeline > 1) {
        // While a connection waits for its next planned send it does not read, so a second
        // request in flight would have its response timed late.
        return fail(
            "--pipeline does not combine with --rate: in open loop each connection "
            "sends on schedule, one request at a time (use more connections)");
    }
    if (out.rate > 0 && out.mode == load_mode::idle) {
        return fail("--rate does not apply to --mode idle (idle connections send nothing)");
    }
    return out;
}

}  // namespace pierload
