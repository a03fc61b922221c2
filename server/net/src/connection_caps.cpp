#include "pier/net/connection_caps.hpp"

#include <algorithm>

namespace pier::net {

namespace {

/// Raises `peak` to `value` unless it is there already (a CAS loop only while raising it: once
/// per accept that sets a new high, and peak_ shares taken_'s cache line).
void raise_to(std::atomic<std::uint64_t>& peak, std::uint64_t value) {
    auto seen = peak.load(std::memory_order_relaxed);
    while (seen < value && !peak.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
    }
}

}  // namespace

bool connection_cap::try_take() {
    const auto limit = limit_.load(std::memory_order_relaxed);
    // Optimistic: the rare loser of a race for the last slot gives it straight back.
    const auto before = taken_.fetch_add(1, std::memory_order_relaxed);
    if (before < limit || limit == 0) {
        raise_to(peak_, before + 1);
        return true;
    }
    taken_.fetch_sub(1, std::memory_order_relaxed);
    return false;
}

std::uint64_t connection_cap::take_peak() {
    const auto now = taken_.load(std::memory_order_relaxed);
    // A take racing with this exchange raises the new peak itself (raise_to after its add).
    return std::max(peak_.exchange(now, std::memory_order_relaxed), now);
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
