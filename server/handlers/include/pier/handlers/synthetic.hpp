// The synthetic handler: a capacity-planning service. Operators point a load generator at it to
// size a platform; pier's own benchmarks use it to show what work stealing buys.
//
// A request is one line (ending in '\n', at most `max_line` bytes before it). Per request the
// handler spends `cpu` of thread CPU time (measured on the thread's CPU clock, so a preempted
// worker still pays the full amount), then waits `delay` without holding a thread, then answers
// `response_bytes` bytes ending in '\n'. A line may override each value with tokens
// (`cpu=250us delay=10ms size=128`, see synthetic_request.hpp). Requests on one connection are
// answered in order, one at a time.
//
// Errors: a line with an unknown token or a bad value gets `ERR <reason>\n` and the connection
// stays usable; a line longer than max_line gets an error line, then the connection is closed.
// A line still incomplete request_timeout after its first byte arrived closes the connection
// (slowloris: a peer trickling a line byte by byte never looks idle). Behind pipelined lines,
// a line's clock starts once the lines before it are answered.
//
// Memory: an idle connection holds no buffer. Reads go into the worker's buffer; only the bytes
// of a request line not yet answered are copied into the connection's own string, freed once
// every received line has been answered. Responses are written from a shared pattern, so a large
// `size` allocates nothing.
//
// Drain: lines that had arrived when the drain was requested are answered, then the connection
// is closed with a FIN.
#pragma once

#include "pier/config/config.hpp"
#include "pier/net/handler.hpp"

namespace pier::handlers {

/// Bytes read per wake-up: many pipelined request lines at once. A connection's own string may
/// hold a partial line of up to max_line plus one such read before the line is judged.
inline constexpr std::size_t synthetic_read_chunk = 16 * 1024;

class synthetic_handler final : public net::handler {
public:
    explicit synthetic_handler(const config::synthetic_config& cfg) : cfg_(cfg) {}
    void start(net::serve_done done) const override;
    bool reads_requests() const override { return true; }

private:
    config::synthetic_config cfg_;
};

}  // namespace pier::handlers
