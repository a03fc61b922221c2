// Handlers by name: turns a listener's `handler:` key and its section into a handler_fn.
// Read-only after static initialization; safe from any thread.
#pragma once

#include "pier/config/config.hpp"
#include "pier/handlers/handler.hpp"

namespace pier::handlers {

/// The handler `cfg.handler` names, configured from its section of `cfg`. Throws
/// std::invalid_argument for a name config validation would have rejected.
handler_fn make_handler(const config::listener_config& cfg);

}  // namespace pier::handlers
