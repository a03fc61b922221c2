// Counters one listener keeps about its connections. Handlers and the accept loop bump them; the
// admin endpoint (and tests) read them. Relaxed atomics: they are statistics, never guards.
#pragma once

#include <atomic>
#include <cstdint>

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
    std::atomic<std::uint64_t> accepted{0};         ///< connections admitted to the handler
    std::atomic<std::uint64_t> rejected{0};         ///< closed at once: max_connections reached
    std::atomic<std::uint64_t> rejected_global{0};  ///< closed at once: limits.max_connections
    std::atomic<std::uint64_t> rejected_per_ip{0};  ///< closed at once: max_connections_per_ip
    std::atomic<std::uint64_t> closed{0};           ///< admitted connections that have ended
    std::atomic<std::uint64_t> idle_closed{0};      ///< of those, closed by idle_timeout
    std::atomic<std::uint64_t> write_timeout_closed{0};  ///< of those, closed by write_timeout
    /// Of those, closed by request_timeout (a request still incomplete: slowloris).
    std::atomic<std::uint64_t> request_timeout_closed{0};
    std::atomic<std::uint64_t> drain_closed{0};     ///< of those, ended by a graceful drain
    std::atomic<std::uint64_t> shutdown_closed{0};  ///< of those, cut at the drain deadline
    std::atomic<std::uint64_t> accept_errors{0};    ///< failed accept() calls (EMFILE, ...)
    /// accept_proxy: admitted connections closed for a missing or malformed PROXY header.
    std::atomic<std::uint64_t> proxy_header_errors{0};
    std::atomic<std::uint64_t> active{0};  ///< admitted and not yet closed
    // Bytes and requests: connection_set::traffic() (live and closed connections together).
};

}  // namespace pier::net
