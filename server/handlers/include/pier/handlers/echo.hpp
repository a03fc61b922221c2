// The echo handler (RFC 862): every byte received is sent back, in order.
//
// Memory: an idle connection holds no buffer and no coroutine. Its read is a forwarding read
// (edge_reader.hpp): inside the reactor, each chunk is read into a buffer of the thread doing
// the read and sent straight back, with no coroutine resumed per message; the read's rare
// completions are callbacks (echo.cpp's echo_session). It keeps bytes of its own only while a
// write is stuck on a slow reader; while so, it reads nothing more (backpressure), so one
// connection never holds more than `max_buffer` bytes.
//
// Drain: bytes that had arrived when the drain was requested are echoed, then the connection
// is closed with a FIN.
#pragma once

#include "pier/config/config.hpp"
#include "pier/net/handler.hpp"

namespace pier::handlers {

class echo_handler final : public net::handler {
public:
    explicit echo_handler(const config::echo_config& cfg) : cfg_(cfg) {}
    void start(net::serve_done done) const override;
    bool reads_requests() const override { return false; }

private:
    config::echo_config cfg_;
};

}  // namespace pier::handlers
