#include "pier/handlers/registry.hpp"

#include <stdexcept>

#include "pier/config/units.hpp"
#include "pier/handlers/echo.hpp"
#include "pier/handlers/proxy/proxy.hpp"
#include "pier/handlers/synthetic.hpp"

namespace pier::handlers {

handler_instance make_handler(const config::listener_config& cfg,
                              const handler_instance* previous) {
    if (cfg.handler == "echo") {
        return {[echo = cfg.echo](net::connection& conn) { return run_echo(conn, echo); }, {}};
    }
    if (cfg.handler == "synthetic") {
        return {[synthetic = cfg.synthetic](net::connection& conn) {
                    return run_synthetic(conn, synthetic);
                },
                {}};
    }
    if (cfg.handler == "proxy") {
        auto group = std::make_shared<proxy::upstream_group>(
            cfg.proxy, previous != nullptr ? previous->upstreams.get() : nullptr);
        return {[group](net::connection& conn) { return proxy::run_proxy(conn, group); }, group};
    }
    throw std::invalid_argument("unknown handler \"" + cfg.handler + "\"");
}

buffer_bound connection_buffer_bound(const config::listener_config& cfg) {
    using config::format_size;
    if (cfg.handler == "echo") {
        // Bytes kept only while a write to a slow reader is stuck, at most max_buffer.
        return {cfg.echo.max_buffer, "max_buffer " + format_size(cfg.echo.max_buffer)};
    }
    if (cfg.handler == "synthetic") {
        // A partial request line up to max_line, plus the read that shows it is too long.
        return {cfg.synthetic.max_line + synthetic_read_chunk,
                "max_line " + format_size(cfg.synthetic.max_line) + " + " +
                    format_size(synthetic_read_chunk)};
    }
    if (cfg.handler == "proxy") {
        // Per direction: its read buffer, and what the other side has not taken yet.
        return {2 * (cfg.proxy.max_buffer + proxy::relay_read_size),
                "2 x (max_buffer " + format_size(cfg.proxy.max_buffer) + " + " +
                    format_size(proxy::relay_read_size) + ")"};
    }
    throw std::invalid_argument("unknown handler \"" + cfg.handler + "\"");
}

}  // namespace pier::handlers
