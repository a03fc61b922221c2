#include "pier/net/connection_caps.hpp"

namespace pier::net {

bool connection_cap::try_take() {
    const auto limit = limit_.load(std::memory_order_relaxed);
    // Optimistic: the rare loser of a race for the last slot gives it straight back.
    if (taken_.fetch_add(1, std::memory_order_relaxed) < limit || limit == 0) return true;
    taken_.fetch_sub(1, std::memory_order_relaxed);
    return false;
}

void connection_cap::give_back() { taken_.fetch_sub(1, std::memory_order_relaxed); }

per_address_cap::outcome per_address_cap::try_take(const boost::asio::ip::address& address) {
    const auto limit = limit_.load(std::memory_order_relaxed);
    if (limit == 0) return outcome::untracked;
    std::lock_guard lock(mutex_);
    auto& count = taken_[address];
    if (count >= limit) return outcome::refused;  // count > 0 here: the entry existed already
    ++count;
    return outcome::taken;
}

void per_address_cap::give_back(const boost::asio::ip::address& address) {
    std::lock_guard lock(mutex_);
    const auto it = taken_.find(address);
    if (it == taken_.end()) return;
    if (--it->second == 0) taken_.erase(it);
}

}  // namespace pier::net
