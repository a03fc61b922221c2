#include "pier/handlers/registry.hpp"

#include <stdexcept>

#include "pier/handlers/echo.hpp"
#include "pier/handlers/synthetic.hpp"

namespace pier::handlers {

handler_fn make_handler(const config::listener_config& cfg) {
    if (cfg.handler == "echo") {
        return [echo = cfg.echo](net::connection& conn) { return run_echo(conn, echo); };
    }
    if (cfg.handler == "synthetic") {
        return [synthetic = cfg.synthetic](net::connection& conn) {
            return run_synthetic(conn, synthetic);
        };
    }
    throw std::invalid_argument("unknown handler \"" + cfg.handler + "\"");
}

}  // namespace pier::handlers
