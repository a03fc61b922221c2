// The non-parsing parts of config.hpp: names and formatting.
#include "pier/config/config.hpp"

#include <string_view>

namespace pier::config {

std::string listen_address::to_string() const {
    // An IPv6 literal contains ':', which would run into the port separator without brackets.
    const bool needs_brackets = host.find(':') != std::string::npos;
    std::string out;
    out.reserve(host.size() + 8);
    if (needs_brackets) {
        out += '[';
    }
    out += host;
    if (needs_brackets) {
        out += ']';
    }
    out += ':';
    out += std::to_string(port);
    return out;
}

const std::vector<std::string>& handler_names() {
    // One entry per handler section a listener accepts; parse.cpp reads the sections by name.
    static const std::vector<std::string> names{"echo", "synthetic", "proxy"};
    return names;
}

std::string_view to_string(scheduler_kind kind) {
    return kind == scheduler_kind::pinned ? "pinned" : "work_stealing";
}

std::string_view to_string(log_level level) {
    switch (level) {
        case log_level::trace: return "trace";
        case log_level::debug: return "debug";
        case log_level::info: return "info";
        case log_level::warn: return "warn";
        case log_level::error: return "error";
        case log_level::critical: return "critical";
        case log_level::off: return "off";
    }
    return "unknown";
}

std::string_view to_string(balance_policy policy) {
    switch (policy) {
        case balance_policy::round_robin: return "round_robin";
        case balance_policy::least_connections: return "least_connections";
        case balance_policy::random_two: return "random_two";
    }
    return "round_robin";
}

std::string_view to_string(proxy_protocol version) {
    switch (version) {
        case proxy_protocol::none: return "none";
        case proxy_protocol::v1: return "v1";
        case proxy_protocol::v2: return "v2";
    }
    return "none";
}

std::chrono::nanoseconds effective_idle_timeout(const listener_config& cfg) {
    if (cfg.handler == "proxy" && cfg.proxy.idle_timeout) return *cfg.proxy.idle_timeout;
    return cfg.idle_timeout;
}

std::chrono::nanoseconds effective_half_close_timeout(const listener_config& cfg) {
    if (cfg.handler == "proxy" && cfg.proxy.half_close_timeout) {
        return *cfg.proxy.half_close_timeout;
    }
    return std::chrono::nanoseconds::zero();
}

}  // namespace pier::config
