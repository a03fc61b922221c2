// The handler kinds, in one table (registry.cpp): what a listener's `handler:` key turns into,
// and what each kind's settings bound. Adding a handler: its kind and name (config.hpp's
// handler_kind), its section's keys (config/parse.cpp), a net::handler (handlers/), one row
// in registry.cpp. Safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pier/config/config.hpp"
#include "pier/handlers/proxy/upstream_group.hpp"
#include "pier/net/handler.hpp"

namespace pier::handlers {

/// The handler `cfg.handler` names, configured from its section of `cfg`. `previous` (may be
/// null) is the handler a reload replaces: state worth keeping is taken over from it when it
/// is of the same kind (the proxy's upstream health and counters).
std::shared_ptr<const net::handler> make_handler(const config::listener_config& cfg,
                                                 const net::handler* previous = nullptr);

/// The most buffer memory one connection of `cfg` can hold, as its handler's settings bound
/// it, and the arithmetic for messages ("2 x max_buffer 16KiB"). Kernel socket
/// buffers and the connection's fixed state (a few KiB) are not included.
struct buffer_bound {
    std::uint64_t bytes = 0;
    std::string formula;
};
buffer_bound connection_buffer_bound(const config::listener_config& cfg);

/// The upstreams of a proxy handler (/metrics reports them); null for other kinds.
proxy::upstream_group* upstreams_of(const net::handler& handler);

}  // namespace pier::handlers
