// One accepted client connection: its byte stream, its home worker, its stop state and its byte
// counts. Its public part is what a handler sees (with getters the sweep and /metrics read
// too); what only the listener, the sweep and the caps may do is private to them. A handler
// never sees the pool, the listener or other connections.
//
// Ownership: a connection is created by its listener and kept alive (connection_ptr) by the
// task that runs its handler; the listener's connection_set holds a non-owning link to it. The
// reference count is the connection's own (intrusive), not std::shared_ptr's: a control block
// and enable_shared_from_this's weak reference were 32 of the bytes every idle connection
// holds (bench/README.md).
//
// Threads: everything except the functions marked "any thread" (request_stop(),
// stop_slow_request() and the getters the sweep reads) must be called on the connection's own
// executor (where the handler runs). The stops post to that executor. Exceptions:
// touch() and the counters (bytes, requests) may also be called from inside the reactor by a
// forwarding read's sink (the proxy's relay, the echo), with one writer per counter at a time
// (see add()).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list_hook.hpp>
#include <boost/smart_ptr/intrusive_ptr.hpp>

#include "pier/net/byte_stream.hpp"
#include "pier/net/close_reasons.hpp"
#include "pier/net/listener_stats.hpp"
#include "pier/runtime/clock.hpp"
#include "pier/runtime/io_pool.hpp"
#include "pier/runtime/serializer.hpp"

namespace pier::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class connection;
/// An owning reference to a connection.
using connection_ptr = boost::intrusive_ptr<connection>;

class connection : public boost::intrusive::list_base_hook<> {
public:
    /// A new connection, owned by the pointer returned.
    static connection_ptr make(std::uint64_t id, stream_socket socket,
                               runtime::worker_lease lease) {
        return connection_ptr(new connection(id, std::move(socket), std::move(lease)));
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /// Process-unique id; logs write it as conn=<id>.
    std::uint64_t id() const { return id_; }
    /// The client's bytes: what the handler reads and writes (byte_stream.hpp).
    byte_stream& stream() { return stream_; }
    /// The client's address as accepted (unspecified if the socket had already failed), or as
    /// a PROXY protocol header announced it.
    const tcp::endpoint& remote_endpoint() const { return remote_; }
    /// Executor the handler runs on: the connection's serializer (work stealing), or its
    /// socket's io_context (pinned).
    asio::any_io_executor executor();

    /// Waits until the stream has bytes (or EOF/error) to read, without holding a buffer.
    /// Returns false instead when a stop was requested before or during the wait; the handler
    /// then consults stop_requested() and winds down.
    ///
    /// Not a coroutine: it returns the wait operation itself, so an idle connection holds no
    /// coroutine frame for it (bench/idle_rss.py measures what an idle connection costs).
    asio::awaitable<bool> wait_readable();

    /// Waits `duration` without holding a thread. Returns false when a stop other than drain
    /// aborted the wait (the handler then winds down).
    asio::awaitable<bool> sleep_for(std::chrono::nanoseconds duration);

    /// Sends FIN, then reads and discards until the peer's EOF or until it has been silent for
    /// a second, so the peer receives all the bytes already sent: closing with unread input
    /// would send RST, and the peer's kernel would drop what it had not yet delivered (nginx's
    /// lingering close). A peer that keeps sending is cut off by the caller's deadline (the
    /// drain's end aborts the wait).
    asio::awaitable<void> shutdown_and_linger();

    /// The strongest stop asked of this connection so far.
    stop_reason stop_requested() const { return stop_; }

    /// Records progress (bytes moved): postpones the idle and write timeouts.
    void touch();

    /// A request has begun arriving (its first bytes are in): request_timeout now runs until
    /// end_request(). No effect while one is already running. Handlers that read requests
    /// (the PROXY header, the synthetic handler's lines) call these; relays do not.
    void begin_request();
    /// The request being received is complete (or none is pending): request_timeout stops.
    void end_request() { request_started_ns_.store(0, std::memory_order_relaxed); }
    /// Any thread: when the request still incomplete began arriving, or nullopt.
    std::optional<runtime::clock::time_point> request_started() const;

    /// Marks a write to the peer in progress while it lives (write_timeout applies meanwhile).
    /// Handlers hold one across every write they await.
    class write_scope {
    public:
        explicit write_scope(connection& c) : c_(c) {
            // Only the connection's executor opens and closes scopes: a plain load and store.
            c_.writing_.store(
                static_cast<std::uint8_t>(c_.writing_.load(std::memory_order_relaxed) + 1),
                std::memory_order_relaxed);
        }
        ~write_scope() {
            c_.writing_.store(
                static_cast<std::uint8_t>(c_.writing_.load(std::memory_order_relaxed) - 1),
                std::memory_order_relaxed);
        }
        write_scope(const write_scope&) = delete;
        write_scope& operator=(const write_scope&) = delete;

    private:
        connection& c_;
    };
    /// Any thread: whether a write is in progress.
    bool writing() const { return writing_.load(std::memory_order_relaxed) > 0; }
    void count_in(std::size_t bytes) { add(bytes_in_, bytes); }
    void count_out(std::size_t bytes) { add(bytes_out_, bytes); }
    /// One request served (what a request is, is the handler's to say).
    void count_request() { add(requests_, 1); }
    /// One request answered with an error (bad input from the peer).
    void count_handler_error() { add(handler_errors_, 1); }
    std::uint64_t bytes_in() const { return bytes_in_.load(std::memory_order_relaxed); }
    std::uint64_t bytes_out() const { return bytes_out_.load(std::memory_order_relaxed); }
    /// Any thread: the counts so far (/metrics adds live connections' to the closed ones').
    traffic_totals traffic() const;

    /// Any thread. When bytes last moved (or when the connection was accepted).
    runtime::clock::time_point last_activity() const;

    /// From now on the connection is idle after `limit` without progress, when that is
    /// shorter than its listener's idle_timeout (the proxy's half_close_timeout, once one
    /// direction has ended). Whole milliseconds, at least 1.
    void shorten_idle_timeout(std::chrono::nanoseconds limit);
    /// Any thread: the limit shorten_idle_timeout() set, or zero.
    std::chrono::milliseconds own_idle_timeout() const {
        return std::chrono::milliseconds(own_idle_timeout_ms_.load(std::memory_order_relaxed));
    }

    /// A second stream the handler relays to (the proxy's upstream), or null: idle, stalled
    /// and shutdown stops cancel its operations too, so a handler waiting only on it still
    /// ends. Call on the connection's executor; unlink before the stream goes away.
    void link(byte_stream* other) { linked_.store(other, std::memory_order_relaxed); }
    /// Any thread: whether a stream is linked (the connection relays).
    bool relaying() const { return linked_.load(std::memory_order_relaxed) != nullptr; }

    /// Marks the handler's one pending operation, until end_interruptible_wait(), as a wait
    /// for the peer that a drain interrupts, as it interrupts wait_readable(): an edge_reader
    /// read that forwards what arrives from inside the reactor (echo) is idle between
    /// messages. The interrupted read completes with operation_aborted and the socket stays
    /// usable. On the connection's executor, with no other operation pending on the socket.
    /// (A pair of calls, not a guard object: the echo keeps it across callbacks, and a guard
    /// would cost every idle echo connection another pointer.)
    void begin_interruptible_wait() { waiting_ = true; }
    /// The wait begun by begin_interruptible_wait() has completed. On the connection's executor.
    void end_interruptible_wait() { waiting_ = false; }

private:
    // The listener's and the sweep's side of the connection: a handler cannot stop its
    // connection, rename its peer or touch the caps' bookkeeping.
    friend class listener;
    friend class connection_set;
    friend class admission;
    friend struct connection_test_access;  // server/net/tests/connection_set_test.cpp

    /// The client as a PROXY protocol header announced it (accept_proxy): from then on
    /// remote_endpoint() is the client behind the proxy. Before the handler starts.
    void set_remote_endpoint(const tcp::endpoint& client) { remote_ = client; }
    /// Any thread. Asks the connection to stop for `reason`: drain interrupts only an idle
    /// wait_readable(); every other reason also aborts the handler's pending operation.
    void request_stop(stop_reason reason);
    /// Any thread. Stops the connection (request_timeout) if the request that began at `began`
    /// (request_started(), as the sweep saw it) is still the one incomplete when the stop
    /// reaches its executor: one that completed meanwhile is being answered, and a newer one
    /// has its own clock.
    void stop_slow_request(runtime::clock::time_point began);

    /// Any thread, for a relaying connection: once per quiet period (nothing moved since the
    /// last call), looks at both streams' TCP state on the connection's executor and, where
    /// the peer is gone or done sending, ends the relay's parked read on it
    /// (net::edge_reader::cancel_read), so the relay reads it again at once. The relay's reads
    /// do not retry a socket they saw drained, and a reset that arrived together with the
    /// last bytes raises no further readiness event: this finds it. The listener's sweep
    /// calls it for relays quiet for a while, and the drain after the sweep has stopped.
    void recheck_sockets();

    /// The listener's bookkeeping: whether it took a max_connections_per_ip slot for this
    /// connection (to give back when it ends). Set before the handler starts.
    bool holds_address_slot() const { return holds_address_slot_; }
    void set_holds_address_slot(bool holds) { holds_address_slot_ = holds; }

    connection(std::uint64_t id, stream_socket socket, runtime::worker_lease lease);
    ~connection() = default;

    // connection_ptr's reference counting. A count that reached 0 never rises again: the
    // connection is being destroyed.
    friend void intrusive_ptr_add_ref(connection* c) noexcept {
        c->refs_.fetch_add(1, std::memory_order_relaxed);
    }
    friend void intrusive_ptr_release(connection* c) noexcept {
        if (c->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete c;
    }
    /// Any thread: a new reference, or null when the connection is already being destroyed
    /// (found through the connection_set by the sweep or a stop, which own no reference).
    connection_ptr try_ref();

    template <typename Handler>
    class readable_handler;
    template <typename Handler>
    void start_wait_readable(Handler handler);
    void stop_on_executor(stop_reason reason);
    void recheck_on_executor();

    // First, next to the socket: what every message touches (a relay's or the echo's sink
    // inside the reactor), so that it costs one or two cache lines, not four (at 1,000
    // connections these loads miss the cache; bench/README.md).
    //
    // The counters are read by /metrics from another thread: relaxed atomics updated with a
    // plain load and store, so counting costs no locked instruction. That needs one writer at
    // a time per counter: the handler, or (the proxy) the direction that owns it, whose sink
    // inside the reactor and coroutine take turns, ordered by the read operation's hand-over.
    static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n) {
        counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    std::atomic<std::uint64_t> bytes_in_{0};
    std::atomic<std::uint64_t> bytes_out_{0};
    std::atomic<std::uint64_t> requests_{0};
    /// runtime::clock ns of the last progress. ordering: relaxed; the idle sweep tolerates a
    /// slightly stale value (it only delays a close by one sweep).
    std::atomic<std::int64_t> last_activity_ns_;
    byte_stream stream_;
    const std::uint64_t id_;
    tcp::endpoint remote_;  // 28 bytes: the next field fills the 4 before the next 8-byte one
    /// See shorten_idle_timeout(); 0: none. ordering: relaxed, read by the sweep.
    std::atomic<std::uint32_t> own_idle_timeout_ms_{0};
    runtime::worker_lease lease_;
    /// The connection's serializer (work stealing; this copy keeps it alive), or an empty one
    /// (pinned: the handler runs on the socket's io_context). Not an any_io_executor: that
    /// is 56 bytes, held by every connection for its whole life.
    runtime::serial_executor serial_;
    // A stop aborts the handler's pending operation by cancelling the socket (and sleep_for's
    // timer), not through Asio's per-operation cancellation slots: a bound slot costs every
    // connection a heap block for its whole life, and every operation an emplace.

    /// The sleep_for() in progress, if any. Touched on the connection's executor only.
    asio::steady_timer* sleeping_ = nullptr;
    /// See link(). Set on the connection's executor only (and only dereferenced there);
    /// ordering: relaxed, other threads only test it for null.
    std::atomic<byte_stream*> linked_{nullptr};
    /// wait_readable() is pending, or an interruptible wait (begin_interruptible_wait()): the
    /// socket's only operation is a wait for the peer, so a drain may cancel it without cutting a
    /// write short. Touched on the connection's executor only.
    bool waiting_ = false;
    stop_reason stop_ = stop_reason::none;
    bool holds_address_slot_ = false;
    /// write_scopes open: a count, since the proxy may write both ways at once and one ending
    /// must not hide the other. ordering: relaxed, read by the sweep like last_activity_ns_.
    std::atomic<std::uint8_t> writing_{0};
    /// connection_ptrs alive (in the 4 bytes after the flags above).
    std::atomic<std::uint32_t> refs_{0};
    /// runtime::clock ns when the incomplete request began arriving; 0: none. Written on the
    /// connection's executor. ordering: relaxed: the sweep's reading may be stale, so
    /// stop_slow_request() checks it again on the executor before acting on it.
    std::atomic<std::int64_t> request_started_ns_{0};
    /// last_activity_ns_ when recheck_sockets() last ran (it runs once per quiet period).
    /// ordering: relaxed; only the sweep (or the drain after it) uses it, one at a time.
    std::atomic<std::int64_t> rechecked_activity_{0};
    std::atomic<std::uint64_t> handler_errors_{0};  ///< see bytes_in_
};

}  // namespace pier::net
