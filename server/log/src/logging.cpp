#include "pier/log/logging.hpp"

#include <cstdlib>
#include <string_view>

#include <fmt/chrono.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace pier::log {
namespace {

void append(spdlog::memory_buf_t& dest, std::string_view text) {
    dest.append(text.data(), text.data() + text.size());
}

void append_json_string(spdlog::memory_buf_t& dest, std::string_view text) {
    dest.push_back('"');
    for (const char c : text) {
        switch (c) {
            case '"': append(dest, "\\\""); break;
            case '\\': append(dest, "\\\\"); break;
            case '\n': append(dest, "\\n"); break;
            case '\r': append(dest, "\\r"); break;
            case '\t': append(dest, "\\t"); break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    fmt::format_to(std::back_inserter(dest), "\\u{:04x}",
                                   static_cast<unsigned>(static_cast<unsigned char>(c)));
                } else {
                    dest.push_back(c);
                }
        }
    }
    dest.push_back('"');
}

/// A token "key=value" whose key is a plain identifier starts a field; anything else is text.
bool is_field(std::string_view token) {
    const auto eq = token.find('=');
    if (eq == 0 || eq == std::string_view::npos) return false;
    for (const char c : token.substr(0, eq)) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}

/// One JSON object per record: {"ts":..,"level":..,"msg":..,"key":"value",...}. The key=value
/// tokens of the message become fields; a token without '=' after a field continues its value
/// (values may contain spaces, e.g. error texts).
class json_formatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        append(dest, "{\"ts\":\"");
        append_timestamp(msg.time, dest);
        append(dest, "\",\"level\":");
        const auto level = spdlog::level::to_string_view(msg.level);
        append_json_string(dest, std::string_view(level.data(), level.size()));

        const std::string_view payload(msg.payload.data(), msg.payload.size());
        std::string_view text;        // the message before the first field
        std::string_view key, value;  // the field being collected
        bool in_fields = false;
        auto flush_field = [&] {
            if (key.empty()) return;
            dest.push_back(',');
            append_json_string(dest, key);
            dest.push_back(':');
            append_json_string(dest, value);
        };
        std::size_t pos = 0;
        while (pos < payload.size()) {
            auto end = payload.find(' ', pos);
            if (end == std::string_view::npos) end = payload.size();
            const std::string_view token = payload.substr(pos, end - pos);
            if (is_field(token)) {
                if (!in_fields) {
                    append(dest, ",\"msg\":");
                    append_json_string(dest, text);
                    in_fields = true;
                }
                flush_field();
                const auto eq = token.find('=');
                key = token.substr(0, eq);
                value = token.substr(eq + 1);
            } else if (in_fields) {
                // Continue the current value, spaces included: both views point into payload.
                value =
                    payload.substr(static_cast<std::size_t>(value.data() - payload.data()),
                                   end - static_cast<std::size_t>(value.data() - payload.data()));
            } else {
                text = payload.substr(0, end);
            }
            pos = end + 1;
        }
        if (in_fields) {
            flush_field();
        } else {
            append(dest, ",\"msg\":");
            append_json_string(dest, payload);
        }
        append(dest, "}\n");
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<json_formatter>();
    }

private:
    static void append_timestamp(spdlog::log_clock::time_point tp, spdlog::memory_buf_t& dest) {
        const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(tp);
        const auto millis =
            std::chrono::duration_cast<std::chrono::milliseconds>(tp - secs).count();
        const std::time_t t = spdlog::log_clock::to_time_t(tp);
        std::tm utc{};
        gmtime_r(&t, &utc);
        fmt::format_to(std::back_inserter(dest), "{:%Y-%m-%dT%H:%M:%S}.{:03}Z", utc, millis);
    }
};

/// `%*` in a pattern: the syslog priority prefix ("<6>") journald reads from a stream.
class syslog_priority_flag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        // Priorities from syslog(3): 7 debug, 6 info, 4 warning, 3 err, 2 crit.
        std::string_view prefix = "<6>";
        switch (msg.level) {
            case spdlog::level::trace:
            case spdlog::level::debug: prefix = "<7>"; break;
            case spdlog::level::warn: prefix = "<4>"; break;
            case spdlog::level::err: prefix = "<3>"; break;
            case spdlog::level::critical: prefix = "<2>"; break;
            default: break;
        }
        append(dest, prefix);
    }

    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<syslog_priority_flag>();
    }
};

}  // namespace

int to_spdlog_level(config::log_level level) {
    switch (level) {
        case config::log_level::trace: return spdlog::level::trace;
        case config::log_level::debug: return spdlog::level::debug;
        case config::log_level::info: return spdlog::level::info;
        case config::log_level::warn: return spdlog::level::warn;
        case config::log_level::error: return spdlog::level::err;
        case config::log_level::critical: return spdlog::level::critical;
        case config::log_level::off: return spdlog::level::off;
    }
    return spdlog::level::info;
}

std::unique_ptr<spdlog::formatter> make_json_formatter() {
    return std::make_unique<json_formatter>();
}

namespace {

std::unique_ptr<spdlog::formatter> make_formatter(const config::log_config& cfg) {
    if (cfg.format == config::log_format::json) return make_json_formatter();
    if (std::getenv("JOURNAL_STREAM") != nullptr) {
        // journald stamps time and host itself; it reads the priority from "<N>".
        auto formatter = std::make_unique<spdlog::pattern_formatter>();
        formatter->add_flag<syslog_priority_flag>('*').set_pattern("%*%v");
        return formatter;
    }
    return std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
}

spdlog::level::level_enum spdlog_level(config::log_level level) {
    return static_cast<spdlog::level::level_enum>(to_spdlog_level(level));
}

}  // namespace

void configure_logging(const config::log_config& cfg) {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    sink->set_formatter(make_formatter(cfg));
    auto logger = std::make_shared<spdlog::logger>("pier", std::move(sink));
    logger->set_level(spdlog_level(cfg.level));
    // Warnings and errors reach the terminal or journal at once, even if the process dies next.
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(std::move(logger));
}

void reconfigure_logging(const config::log_config& cfg) {
    // The logger itself stays: other threads log through spdlog's raw default-logger pointer,
    // so replacing it would free it under them. Level and formatter changes are thread-safe
    // (an atomic, and the sink's mutex).
    auto* logger = spdlog::default_logger_raw();
    logger->set_formatter(make_formatter(cfg));
    logger->set_level(spdlog_level(cfg.level));
}

}  // namespace pier::log
