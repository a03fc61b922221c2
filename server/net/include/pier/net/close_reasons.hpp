// Why a connection is closed: turned away at accept (reject_reason) or asked to end
// (stop_reason), each under the one name that logs (`reason=`) and /metrics (the `reason`
// label of pier_connections_rejected_total and pier_connections_closed_total) both give it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pier/config/enum_names.hpp"

namespace pier::net {

/// Why a connection is being asked to end. Later reasons override earlier, milder ones.
enum class stop_reason : std::uint8_t {
    none,             ///< not asked to stop: it ended by itself (the peer closed, an error)
    drain,            ///< graceful shutdown: finish what was already received, then close
    idle_timeout,     ///< idle_timeout passed with no progress: close now
    request_timeout,  ///< request_timeout passed with a request still incomplete: close now
    write_timeout,    ///< write_timeout passed with a write making no progress: close now
    /// The drain's deadline passed (shutdown.drain_timeout, or a second SIGTERM brought it
    /// forward): abort whatever is in progress.
    drain_timeout,
};

constexpr auto names_of(stop_reason) {
    using enum stop_reason;
    return std::to_array<config::enum_name<stop_reason>>({{none, "peer"},
                                                          {drain, "drain"},
                                                          {idle_timeout, "idle_timeout"},
                                                          {request_timeout, "request_timeout"},
                                                          {write_timeout, "write_timeout"},
                                                          {drain_timeout, "drain_timeout"}});
}
using config::to_string;

inline constexpr std::size_t stop_reason_count = names_of(stop_reason{}).size();

/// Which cap turned a new connection away (closed at once, before its handler).
enum class reject_reason : std::uint8_t {
    max_connections,         ///< the listener's max_connections
    global_max_connections,  ///< limits.max_connections, shared by every listener
    max_connections_per_ip,  ///< the listener's max_connections_per_ip
};

constexpr auto names_of(reject_reason) {
    using enum reject_reason;
    return std::to_array<config::enum_name<reject_reason>>(
        {{max_connections, "max_connections"},
         {global_max_connections, "global_max_connections"},
         {max_connections_per_ip, "max_connections_per_ip"}});
}

inline constexpr std::size_t reject_reason_count = names_of(reject_reason{}).size();

}  // namespace pier::net
