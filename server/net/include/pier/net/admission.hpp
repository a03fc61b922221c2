// Which new connections a listener takes: its own max_connections, the cap shared by every
// listener (limits.max_connections) and the cap per client address (max_connections_per_ip).
// A connection over a cap is counted in listener_stats by the cap's name (close_reasons.hpp)
// and logged, at most once a second; the caller closes it. An admitted connection holds a
// slot of each cap until give_back().
//
// Threads: has_room() and take_slots() on the listener's accept strand; take_address_slot(),
// give_back() and set_per_address_limit() from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "pier/log/rate_limiter.hpp"
#include "pier/net/close_reasons.hpp"
#include "pier/net/connection.hpp"
#include "pier/net/connection_caps.hpp"
#include "pier/net/listener_stats.hpp"

namespace pier::net {

class admission {
public:
    /// `stats` and `global_cap` (may be null: no global cap) must outlive this.
    admission(std::string listener_name, listener_stats& stats, connection_cap* global_cap,
              std::uint64_t per_address_limit);

    /// Whether the listener has room for one more connection under `max_connections`.
    bool has_room(std::uint64_t max_connections);
    /// Takes the global slot and, unless `address_later`, the per-address one for `conn`;
    /// false (nothing held, counted, logged) if one is full.
    bool take_slots(connection& conn, bool address_later);
    /// Takes the per-address slot for `conn` (after a PROXY header named its client); false
    /// (counted, logged) if its address has all of them.
    bool take_address_slot(connection& conn);
    /// Gives back every slot `conn` holds.
    void give_back(connection& conn);

    void set_per_address_limit(std::uint64_t limit) { per_address_.set_limit(limit); }

private:
    void reject(reject_reason reason, std::uint64_t limit);

    const std::string listener_name_;
    listener_stats& stats_;
    connection_cap* const global_cap_;
    per_address_cap per_address_;
    log::rate_limiter reject_log_{std::chrono::seconds(1)};
};

}  // namespace pier::net
