// What a listener runs for each connection it accepts: the contract between net (the listener
// and the connection) and the handlers that implement it (handlers/: echo, synthetic, proxy).
//
// start() takes over the conversation on one connection and reports its end through the
// serve_done it is given, exactly once; the listener closes the connection afterwards. Most
// handlers are a coroutine and start it with spawn_serve(); one may instead wait through
// callbacks, so that an idle connection holds no coroutine frame (the echo: echo.hpp). Either
// way it reacts to connection::stop_requested():
// - drain: wait_readable() returns false; finish what was received, then end (the handler's
//   other operations are not interrupted, so a write in progress completes);
// - idle, stalled (write_timeout), slow_request, shutdown: the pending stream operation or
//   sleep_for() fails with operation_aborted, and later wait_readable() and sleep_for() calls
//   return false at once; the handler ends on that failure.
// A handler must therefore wait only through its streams (connection::stream(), and streams
// it links, connection::link()), wait_readable() and sleep_for(), and must not start new
// stream operations after one was aborted. Limits, timeouts, accounting
// and logging of the connection's life are the listener's job, not the handler's; a handler
// only holds a connection::write_scope across each write it awaits, so that write_timeout can
// tell a stuck write from a quiet connection.
//
// Lifetime: a reload gives new connections a new handler while connections the old one
// started are still being served, and the old handler object may be gone by then: what
// start() leaves running holds what it needs by value (a copy of its settings, a shared_ptr to
// shared state such as the proxy's upstreams). The connection lives until serve_done is called.
//
// Threads: start() on the connection's executor, from any worker; start_background() and
// stop_background() on the listener's strand.
#pragma once

#include <exception>
#include <memory>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "pier/net/connection.hpp"

namespace pier::net {

class listener;

/// Tells a connection's listener that its handler is done with it: the listener counts the
/// close, gives back the caps' slots and closes the socket. Call it once, on the connection's
/// executor, with the exception that ended the handler or null. It keeps the connection alive
/// until then.
class serve_done {
public:
    void operator()(std::exception_ptr error) const;
    connection& conn() const { return *conn_; }

private:
    friend class listener;
    serve_done(listener& owner, connection_ptr conn) : owner_(&owner), conn_(std::move(conn)) {}

    listener* owner_;
    connection_ptr conn_;
};

/// Runs `body` (a handler's coroutine for `done.conn()`) on the connection's executor, and
/// `done` when it returns or throws.
void spawn_serve(serve_done done, boost::asio::awaitable<void> body);

class handler {
public:
    virtual ~handler() = default;

    /// Takes over `done.conn()` until the conversation is over, then calls `done`. If start()
    /// throws, it has not called `done` and nothing it started will (the listener does). A
    /// coroutine is started with spawn_serve(), made by a function that takes its arguments
    /// by value (see Lifetime above; a lambda coroutine's captures, or `this`, would dangle).
    virtual void start(serve_done done) const = 0;

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
