#include "pier/net/connection_caps.hpp"

namespace pier::net {

bool connection_cap::try_take() {
    if (limit_ == 0) return true;
    // Optimistic: the rare loser of a race for the last slot gives it straight back.
    if (taken_.fetch_add(1, std::memory_order_relaxed) < limit_) return true;
    taken_.fetch_sub(1, std::memory_order_relaxed);
    return false;
}

void connection_cap::give_back() {
    if (limit_ != 0) taken_.fetch_sub(1, std::memory_order_relaxed);
}

bool per_address_cap::try_take(const boost::asio::ip::address& address) {
    if (limit_ == 0) return true;
    std::lock_guard lock(mutex_);
    auto& count = taken_[address];
    if (count >= limit_) return false;  // count > 0 here: the entry existed already
    ++count;
    return true;
}

void per_address_cap::give_back(const boost::asio::ip::address& address) {
    if (limit_ == 0) return;
    std::lock_guard lock(mutex_);
    const auto it = taken_.find(address);
    if (it == taken_.end()) return;
    if (--it->second == 0) taken_.erase(it);
}

}  // namespace pier::net
