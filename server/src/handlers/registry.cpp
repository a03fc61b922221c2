#include "pier/handlers/registry.hpp"

#include <stdexcept>

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

}  // namespace pier::handlers
