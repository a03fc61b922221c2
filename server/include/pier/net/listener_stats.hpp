// Counters one listener keeps about its connections. Handlers and the accept loop bump them; the
// admin endpoint (and tests) read them. Relaxed atomics: they are statistics, never guards.
#pragma once

#include <atomic>
#include <cstdint>

namespace pier::net {

struct listener_stats {
    std::atomic<std::uint64_t> accepted{0};       ///< connections admitted to the handler
    std::atomic<std::uint64_t> rejected{0};       ///< closed at once: max_connections reached
    std::atomic<std::uint64_t> closed{0};         ///< admitted connections that have ended
    std::atomic<std::uint64_t> idle_closed{0};    ///< of those, closed by idle_timeout
    std::atomic<std::uint64_t> accept_errors{0};  ///< failed accept() calls (EMFILE, ...)
    std::atomic<std::uint64_t> bytes_in{0};       ///< read from clients, counted at close
    std::atomic<std::uint64_t> bytes_out{0};      ///< written to clients, counted at close
    std::atomic<std::uint64_t> active{0};         ///< admitted and not yet closed
};

}  // namespace pier::net
