// The `proxy` handler: a TCP load-balancing proxy (HAProxy's mode tcp, nginx's stream).
//
// Per client: pick an upstream (upstream_group), connect within connect_timeout, trying other
// upstreams on failure (retries), optionally send a PROXY protocol header, then relay both
// directions at once on the connection's executor until both have ended:
// - a direction reads up to max_buffer at a time into the reading thread's scratch buffer (a
//   pending read holds no buffer and costs no system call until data arrives) and sends what
//   it read on at once, inside the reactor (a forwarding read, net/edge_reader.hpp: while the
//   destination takes every chunk, the coroutine is not even resumed; a chunk with more
//   already queued behind it goes with MSG_MORE, so a stream leaves in fewer, larger
//   segments); only bytes the destination does not take at once are copied (at most
//   max_buffer), and nothing more is read from that source until they are gone, so a slow
//   side slows the other through TCP and memory stays bounded;
// - EOF from one side becomes a shutdown of the other side's write half, and the other
//   direction goes on (half-close, as HAProxy does);
// - an error on either side cancels both directions: the upstream socket is closed, and the
//   listener closes the client's.
// Idle, write and drain timeouts are the listener's, as for every handler (once a direction
// has ended, half_close_timeout shortens the idle one); a drain lets a
// relayed connection run until the drain deadline (L4 has no request boundary to stop at).
#pragma once

#include <memory>

#include "pier/handlers/proxy/upstream_group.hpp"
#include "pier/net/handler.hpp"

namespace pier::handlers::proxy {

class proxy_handler final : public net::handler {
public:
    /// `previous` (may be null): the handler a reload replaces; its upstreams' health and
    /// counters carry over (upstream_group).
    proxy_handler(const config::proxy_config& cfg, const proxy_handler* previous);
    void start(net::serve_done done) const override;
    bool reads_requests() const override { return false; }
    /// The health checks, when configured.
    void start_background(const boost::asio::any_io_executor& strand) const override;
    void stop_background() const override;

    /// /metrics reads them.
    upstream_group& upstreams() const { return *group_; }

private:
    std::shared_ptr<upstream_group> group_;
};

}  // namespace pier::handlers::proxy
