// What a listener runs for each accepted connection.
//
// A handler is a coroutine that owns the conversation on one connection and returns when it is
// over; the listener closes the socket afterwards. It reacts to connection::stop_requested():
// - drain: wait_readable() returns false; finish what was received, then return (the handler's
//   other operations are not interrupted, so a write in progress completes);
// - idle, stalled (write_timeout), shutdown: the pending socket operation or sleep_for() fails with
// operation_aborted,
//   and later wait_readable() and sleep_for() calls return false at once; the handler returns
//   on that failure. A handler must therefore wait only through the socket, wait_readable()
//   and sleep_for(), and must not start new socket operations after one was aborted.
// Limits, timeouts, accounting and logging of the connection's life are the listener's job,
// not the handler's; a handler only holds a connection::write_scope across each write it
// awaits, so that write_timeout can tell a stuck write from a quiet connection.
#pragma once

#include <functional>

#include <boost/asio/awaitable.hpp>

#include "pier/net/connection.hpp"

namespace pier::handlers {

/// Serves one connection. Must not capture per-connection state by reference in a lambda
/// coroutine: return the awaitable of a free coroutine function instead (captures would dangle).
using handler_fn = std::function<boost::asio::awaitable<void>(net::connection&)>;

}  // namespace pier::handlers
