// The non-parsing parts of config.hpp: formatting and derived settings.
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

std::chrono::nanoseconds effective_idle_timeout(const listener_config& cfg) {
    if (cfg.handler == handler_kind::proxy && cfg.proxy.idle_timeout)
        return *cfg.proxy.idle_timeout;
    return cfg.idle_timeout;
}

std::chrono::nanoseconds effective_half_close_timeout(const listener_config& cfg) {
    if (cfg.handler == handler_kind::proxy && cfg.proxy.half_close_timeout) {
        return *cfg.proxy.half_close_timeout;
    }
    return std::chrono::nanoseconds::zero();
}

}  // namespace pier::config
