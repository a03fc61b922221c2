#include "pier/net/admission.hpp"

#include <utility>

#include <spdlog/spdlog.h>

namespace pier::net {

admission::admission(std::string listener_name, listener_stats& stats, connection_cap* global_cap,
                     std::uint64_t per_address_limit)
    : listener_name_(std::move(listener_name)),
      stats_(stats),
      global_cap_(global_cap),
      per_address_(per_address_limit) {}

bool admission::has_room(std::uint64_t max_connections) {
    if (stats_.active.load(std::memory_order_relaxed) < max_connections) return true;
    reject(reject_reason::max_connections, max_connections);
    return false;
}

bool admission::take_slots(connection& conn, bool address_later) {
    if (global_cap_ != nullptr && !global_cap_->try_take()) {
        reject(reject_reason::global_max_connections, global_cap_->limit());
        return false;
    }
    if (!address_later && !take_address_slot(conn)) {
        if (global_cap_ != nullptr) global_cap_->give_back();
        return false;
    }
    return true;
}

bool admission::take_address_slot(connection& conn) {
    const auto slot = per_address_.try_take(conn.remote_endpoint().address());
    if (slot == per_address_cap::outcome::refused) {
        reject(reject_reason::max_connections_per_ip, per_address_.limit());
        return false;
    }
    conn.set_holds_address_slot(slot == per_address_cap::outcome::taken);
    return true;
}

void admission::give_back(connection& conn) {
    if (conn.holds_address_slot()) per_address_.give_back(conn.remote_endpoint().address());
    if (global_cap_ != nullptr) global_cap_->give_back();
}

void admission::reject(reject_reason reason, std::uint64_t limit) {
    stats_.rejected_by[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
    if (const auto n = reject_log_.allow()) {
        spdlog::warn("connection rejected listener={} reason={} limit={} occurrences={}",
                     listener_name_, to_string(reason), limit, n);
    }
}

}  // namespace pier::net
