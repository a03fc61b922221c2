#include "pier/handlers/registry.hpp"

#include <array>
#include <stdexcept>

#include "pier/config/units.hpp"
#include "pier/handlers/echo.hpp"
#include "pier/handlers/proxy/proxy.hpp"
#include "pier/handlers/synthetic.hpp"

namespace pier::handlers {
namespace {

using config::format_size;
using config::handler_kind;
using config::listener_config;

struct kind_entry {
    handler_kind kind;
    std::shared_ptr<const net::handler> (*make)(const listener_config& cfg,
                                                const net::handler* previous);
    buffer_bound (*bound)(const listener_config& cfg);
};

/// Every handler kind: one row each.
constexpr std::array kinds{
    kind_entry{
        handler_kind::echo,
        [](const listener_config& cfg, const net::handler*) -> std::shared_ptr<const net::handler> {
            return std::make_shared<echo_handler>(cfg.echo);
        },
        // Bytes kept only while a write to a slow reader is stuck, at most max_buffer.
        [](const listener_config& cfg) -> buffer_bound {
            return {cfg.echo.max_buffer, "max_buffer " + format_size(cfg.echo.max_buffer)};
        }},
    kind_entry{
        handler_kind::synthetic,
        [](const listener_config& cfg, const net::handler*) -> std::shared_ptr<const net::handler> {
            return std::make_shared<synthetic_handler>(cfg.synthetic);
        },
        // A partial request line up to max_line, plus the read that shows it is too long.
        [](const listener_config& cfg) -> buffer_bound {
            return {cfg.synthetic.max_line + synthetic_read_chunk,
                    "max_line " + format_size(cfg.synthetic.max_line) + " + " +
                        format_size(synthetic_read_chunk)};
        }},
    kind_entry{handler_kind::proxy,
               [](const listener_config& cfg,
                  const net::handler* previous) -> std::shared_ptr<const net::handler> {
                   return std::make_shared<proxy::proxy_handler>(
                       cfg.proxy, dynamic_cast<const proxy::proxy_handler*>(previous));
               },
               // Per direction, what the other side has not taken yet (reads go to the
               // thread's scratch buffer, not the connection's).
               [](const listener_config& cfg) -> buffer_bound {
                   return {2 * cfg.proxy.max_buffer,
                           "2 x max_buffer " + format_size(cfg.proxy.max_buffer)};
               }},
};

const kind_entry& entry_for(handler_kind kind) {
    for (const auto& entry : kinds) {
        if (entry.kind == kind) return entry;
    }
    throw std::invalid_argument("no handler registered for \"" +
                                std::string(config::to_string(kind)) + "\"");
}

}  // namespace

std::shared_ptr<const net::handler> make_handler(const listener_config& cfg,
                                                 const net::handler* previous) {
    return entry_for(cfg.handler).make(cfg, previous);
}

buffer_bound connection_buffer_bound(const listener_config& cfg) {
    return entry_for(cfg.handler).bound(cfg);
}

proxy::upstream_group* upstreams_of(const net::handler& handler) {
    const auto* proxy = dynamic_cast<const proxy::proxy_handler*>(&handler);
    return proxy != nullptr ? &proxy->upstreams() : nullptr;
}

}  // namespace pier::handlers
