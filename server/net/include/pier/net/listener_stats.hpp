// Counters one listener keeps about its connections. Handlers and the accept loop bump them; the
// admin endpoint (and tests) read them. Relaxed atomics: they are statistics, never guards.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "pier/net/close_reasons.hpp"

namespace pier::net {

/// What a connection has moved so far. Kept by the connection while it lives and added to its
/// connection_set's closed totals when it leaves the set.
struct traffic_totals {
    std::uint64_t bytes_in = 0;        ///< read from the client
    std::uint64_t bytes_out = 0;       ///< written to the client
    std::uint64_t requests = 0;        ///< requests served (echo: reads echoed; synthetic: lines)
    std::uint64_t handler_errors = 0;  ///< requests answered with an error (synthetic ERR lines)

    traffic_totals& operator+=(const traffic_totals& other) {
        bytes_in += other.bytes_in;
        bytes_out += other.bytes_out;
        requests += other.requests;
        handler_errors += other.handler_errors;
        return *this;
    }
};

struct listener_stats {
    std::atomic<std::uint64_t> accepted{0};  ///< connections admitted to the handler
    /// Closed at once, by the cap that was full.
    std::array<std::atomic<std::uint64_t>, reject_reason_count> rejected_by{};
    std::atomic<std::uint64_t> closed{0};  ///< admitted connections that have ended
    /// Of those, by the stop asked of them when they ended (none: the peer closed).
    std::array<std::atomic<std::uint64_t>, stop_reason_count> closed_by{};
    std::atomic<std::uint64_t> accept_errors{0};  ///< failed accept() calls (EMFILE, ...)
    /// accept_proxy: admitted connections closed for a missing or malformed PROXY header.
    std::atomic<std::uint64_t> proxy_header_errors{0};
    /// TLS: handshakes completed; failed (the client's TLS was refused: garbage instead of a
    /// ClientHello, no common version or cipher); abandoned (the client went away before
    /// finishing, or was cut by request_timeout or a stop).
    std::atomic<std::uint64_t> tls_handshakes{0};
    std::atomic<std::uint64_t> tls_handshake_errors{0};
    std::atomic<std::uint64_t> tls_handshakes_abandoned{0};
    std::atomic<std::uint64_t> active{0};  ///< admitted and not yet closed
    // Bytes and requests: connection_set::traffic() (live and closed connections together).

    std::uint64_t rejected_for(reject_reason reason) const {
        return rejected_by[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
    }
    std::uint64_t closed_for(stop_reason reason) const {
        return closed_by[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
    }
};

}  // namespace pier::net
