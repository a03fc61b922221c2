// What a listener runs for each connection it accepts: the contract between net (the listener
// and the connection) and the handlers that implement it (handlers/: echo, synthetic, proxy).
//
// serve() owns the conversation on one connection and returns when it is over; the listener
// closes the connection afterwards. It reacts to connection::stop_requested():
// - drain: wait_readable() returns false; finish what was received, then return (the
//   handler's other operations are not interrupted, so a write in progress completes);
// - idle, stalled (write_timeout), slow_request, shutdown: the pending stream operation or
//   sleep_for() fails with operation_aborted, and later wait_readable() and sleep_for() calls
//   return false at once; the handler returns on that failure.
// A handler must therefore wait only through its streams (connection::stream(), and streams
// it links, connection::link()), wait_readable() and sleep_for(), and must not start new
// stream operations after one was aborted. Limits, timeouts, accounting
// and logging of the connection's life are the listener's job, not the handler's; a handler
// only holds a connection::write_scope across each write it awaits, so that write_timeout can
// tell a stuck write from a quiet connection.
//
// Lifetime: a reload gives new connections a new handler while connections the old one
// started are still being served, and the old handler object may be gone by then: the
// coroutine serve() returns holds what it needs by value (a copy of its settings, a
// shared_ptr to shared state such as the proxy's upstreams).
//
// Threads: serve() on the connection's executor, from any worker; start_background() and
// stop_background() on the listener's strand.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "pier/net/connection.hpp"

namespace pier::net {

class handler {
public:
    virtual ~handler() = default;

    /// Serves `conn` until the conversation is over. Not itself a coroutine: it returns one
    /// that takes its arguments by value (see Lifetime above; a lambda coroutine's captures,
    /// or `this`, would dangle).
    virtual boost::asio::awaitable<void> serve(connection& conn) const = 0;

    /// Whether the handler reads requests, so that the listener's request_timeout applies
    /// to it (connection::begin_request()).
    virtual bool reads_requests() const = 0;

    /// Work the handler does beside its connections while its listener accepts (the proxy's
    /// health checks), on `strand`; stopped by stop_background() when the listener stops
    /// accepting or a reload replaces the handler.
    virtual void start_background(const boost::asio::any_io_executor& /*strand*/) const {}
    virtual void stop_background() const {}

protected:
    handler() = default;
    handler(const handler&) = default;
    handler& operator=(const handler&) = default;
};

}  // namespace pier::net
