// Connection caps beyond one listener's max_connections: a cap shared by every listener
// (`limits.max_connections`, HAProxy's global maxconn) and a cap per client address within a
// listener (`max_connections_per_ip`, nginx's limit_conn per $binary_remote_addr).
//
// A slot is taken when a connection is admitted and given back when it ends. A reload may
// change a limit at any time (set_limit): connections already admitted are never closed by a
// lower limit, they only keep new ones out until enough have ended.
//
// Thread-safe: taken on the accept loop, given back from whichever worker ran the connection,
// limits set from the reloading thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>

namespace pier::net {

/// At most `limit` slots at once (0: no cap).
class connection_cap {
public:
    explicit connection_cap(std::uint64_t limit) : limit_(limit) {}

    /// Takes a slot; false (nothing taken) when all are in use. Slots are counted even with
    /// no cap, so a cap set later by a reload sees every live connection.
    bool try_take();
    void give_back();
    void set_limit(std::uint64_t limit) { limit_.store(limit, std::memory_order_relaxed); }
    std::uint64_t limit() const { return limit_.load(std::memory_order_relaxed); }
    std::uint64_t in_use() const { return taken_.load(std::memory_order_relaxed); }
    /// The most slots in use at once since the last call (or since construction), then starts
    /// over from the slots in use now. For the memory give-back (daemon/memory_give_back.hpp):
    /// a burst can open and close 10,000 connections between two of its once-a-second looks
    /// at in_use(), which then never shows the burst at all.
    std::uint64_t take_peak();

private:
    std::atomic<std::uint64_t> limit_;
    std::atomic<std::uint64_t> taken_{0};
    std::atomic<std::uint64_t> peak_{0};  ///< the most of taken_ since take_peak()
};

/// At most `limit` slots per client address at once (0: no cap). Addresses are tracked only
/// while a cap is set (a map lookup under a lock costs every accept), so a cap turned on by a
/// reload counts the connections admitted from then on.
class per_address_cap {
public:
    explicit per_address_cap(std::uint64_t limit) : limit_(limit) {}

    enum class outcome : std::uint8_t {
        refused,    ///< the address has `limit` slots already
        taken,      ///< a slot was taken: give it back when the connection ends
        untracked,  ///< no cap is set: nothing was taken, nothing to give back
    };
    outcome try_take(const boost::asio::ip::address& address);
    /// Gives back a slot try_take() returned `taken` for.
    void give_back(const boost::asio::ip::address& address);
    void set_limit(std::uint64_t limit) { limit_.store(limit, std::memory_order_relaxed); }
    std::uint64_t limit() const { return limit_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> limit_;
    std::mutex mutex_;
    /// Addresses with at least one slot; an address leaves the map with its last slot, so the
    /// map holds at most one entry per live connection.
    std::unordered_map<boost::asio::ip::address, std::uint64_t> taken_;  ///< guarded by mutex_
};

}  // namespace pier::net
