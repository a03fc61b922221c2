// Handlers by name: turns a listener's `handler:` key and its section into what the listener
// runs. Safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pier/config/config.hpp"
#include "pier/handlers/handler.hpp"
#include "pier/handlers/proxy/upstream_group.hpp"

namespace pier::handlers {

/// What a listener runs for each connection, and the state behind it that outlives one
/// connection.
struct handler_instance {
    handler_fn serve;
    /// The proxy's upstreams (null for other handlers): /metrics reads them, and a reload
    /// hands them to the next instance.
    std::shared_ptr<proxy::upstream_group> upstreams;
};

/// The handler `cfg.handler` names, configured from its section of `cfg`. `previous` (may be
/// null) is the instance a reload replaces: state worth keeping is taken over from it (the
/// proxy's upstream health and counters). Throws std::invalid_argument for a name config
/// validation would have rejected.
handler_instance make_handler(const config::listener_config& cfg,
                              const handler_instance* previous = nullptr);

/// The most buffer memory one connection of `cfg` can hold, as its handler's settings bound
/// it, and the arithmetic for messages ("2 x (max_buffer 16KiB + 2KiB)"). Kernel socket
/// buffers and the connection's fixed state (a few KiB) are not included.
struct buffer_bound {
    std::uint64_t bytes = 0;
    std::string formula;
};
buffer_bound connection_buffer_bound(const config::listener_config& cfg);

}  // namespace pier::handlers
