#include "pier/handlers/echo.hpp"

#include <cstdint>
#include <exception>
#include <memory>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pier/handlers/worker_buffer.hpp"
#include "pier/net/edge_reader.hpp"

namespace pier::handlers {
namespace {

namespace asio = boost::asio;

/// Writes what the peer did not take at once. False when the connection is over.
asio::awaitable<bool> write_unsent(net::connection& conn, const std::vector<char>& unsent) {
    const net::connection::write_scope writing(conn);  // write_timeout applies
    std::size_t offset = 0;
    while (offset < unsent.size()) {
        // A stop that ran while nothing was pending (between the read and this write) cancelled
        // nothing: honour it here, or a peer that does not read holds us until write_timeout.
        if (conn.stop_requested() > net::stop_reason::drain) co_return false;
        auto [ec, written] = co_await conn.stream().async_write_some(
            asio::buffer(unsent.data() + offset, unsent.size() - offset),
            asio::as_tuple(asio::use_awaitable));
        offset += written;
        conn.count_out(written);
        if (ec) co_return false;
        conn.touch();  // progress, however slow, is not idleness
    }
    co_return true;
}

/// Asio allocates an operation through its handler's allocator; by default it reuses a block
/// the thread freed recently when that is large enough. A read that stays pending for as long
/// as its connection is idle then keeps a block sized for something else (288 bytes, where the
/// read needs 128). This allocator asks for the exact size.
template <typename T>
struct exact_allocator {
    using value_type = T;
    exact_allocator() = default;
    template <typename U>
    exact_allocator(const exact_allocator<U>& /*other*/) noexcept {}
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
    void deallocate(T* p, std::size_t /*n*/) noexcept { ::operator delete(p); }
    template <typename U>
    bool operator==(const exact_allocator<U>& /*other*/) const noexcept {
        return true;
    }
};

/// One echo connection, served by callbacks rather than a coroutine: while it waits for bytes
/// it holds this object (40 bytes: the connection, the reader, the limit) and
/// the forwarding read queued with the reactor, and no coroutine frame (three frames were 1,088
/// of the 2,125 bytes an idle connection held: bench/README.md). A coroutine runs only for
/// what takes more than one step: writing what the peer did not take at once, and the drain.
///
/// The session is also the read's sink (take()): inside the reactor, each chunk read is sent
/// straight back.
///
/// Unlike the proxy's relay, echo needs no recheck of a parked read (edge_reader.hpp): it sends
/// every chunk back on the stream it read it from, and that send fails on a reset that arrived
/// with the chunk; one arriving later raises an event of its own.
///
/// Lifetime: owns itself from start() until it calls done_, its last act. It has one operation
/// pending at a time (the read, or the coroutine), and only that operation's completion goes
/// on. Threads: everything on the connection's executor, except read_done's hop to it and
/// take(), which runs on whichever thread performs the read while nothing else of the session
/// runs (it touches the connection's atomic counters, unsent_, failed_ and the stream's
/// send_now()).
class echo_session {
public:
    /// Throws only when the session cannot be made; from then on it ends itself.
    static void start(net::serve_done done, std::uint32_t limit) {
        auto* session = new echo_session(std::move(done), limit);
        session->go_on([session] { session->read(); });
    }

    /// The forwarding read's sink: echoes a chunk. False (refused: the read completes) when
    /// the peer did not take all of it (the rest is kept in unsent_) or a send failed.
    bool take(const char* data, std::size_t size) noexcept {
        net::connection& c = conn();
        c.count_in(size);
        c.count_request();  // echo has no messages: each chunk echoed is one request
        c.touch();
        boost::system::error_code ec;
        const std::size_t sent = c.stream().send_now(data, size, ec);
        if (ec) {
            failed_ = true;
            return false;
        }
        c.count_out(sent);
        if (sent == size) return true;
        // The peer reads slower than it writes. The chunk lives in the reading thread's
        // buffer: keep the rest, and read nothing more until it is gone (backpressure).
        try {
            unsent_ = std::make_unique<std::vector<char>>(data + sent, data + size);
        } catch (const std::exception&) {  // bad_alloc: the connection ends rather than the
            failed_ = true;                // daemon (the caller of take() must not throw)
        }
        return false;
    }

private:
    /// The read's completion: called by the reactor's thread (it names no executor, so it
    /// gets the socket's, and Asio tracks no work of its own for it), it hands on to the
    /// connection's executor, where the session's state lives.
    struct read_done {
        echo_session* session;

        using allocator_type = exact_allocator<void>;
        allocator_type get_allocator() const noexcept { return {}; }
        void operator()(boost::system::error_code ec, std::size_t /*bytes*/) const {
            asio::dispatch(session->conn().executor(),
                           [session = session, ec] { session->on_read(ec); });
        }
    };

    echo_session(net::serve_done done, std::uint32_t limit)
        : done_(std::move(done)), reader_(conn().stream()), limit_(limit) {}

    net::connection& conn() const { return done_.conn(); }

    void read() {
        if (conn().stop_requested() != net::stop_reason::none) return wind_down();
        // Between chunks the read is the connection's idle wait: a drain interrupts it.
        conn().begin_interruptible_wait();
        try {
            reader_.async_forward_through_scratch(limit_, false, net::sink_to(*this),
                                                  read_done{this});
        } catch (...) {
            conn().end_interruptible_wait();  // no read is pending: nothing for a drain to stop
            throw;
        }
    }

    void on_read(boost::system::error_code ec) {
        conn().end_interruptible_wait();
        if (failed_) return finish(nullptr);
        if (ec && ec != asio::error::operation_aborted) return finish(nullptr);  // EOF, error
        // A stop (operation_aborted): read() ends the session. Otherwise the chunk was echoed,
        // or kept to write (write_unsent), the last of a run of chunks read without a pause
        // (edge_reader.hpp): more is likely waiting, and the next read tries it at once.
        go_on([this] {
            if (!unsent_) return read();
            then_read(write_unsent_then_free());
        });
    }

    /// Writes what the peer did not take at once, then frees it: an idle connection holds no
    /// buffer. False when the connection is over.
    asio::awaitable<bool> write_unsent_then_free() {
        const bool written = co_await write_unsent(conn(), *unsent_);
        unsent_.reset();
        co_return written;
    }

    /// Reads what is already available (at most limit_ bytes) and echoes it. False when the
    /// connection is over (EOF, reset, write failure or abort).
    asio::awaitable<bool> echo_available() {
        auto& buffer = worker_buffer(limit_);
        boost::system::error_code ec;
        const std::size_t received =
            conn().stream().read_available(asio::buffer(buffer.data(), limit_), ec);
        if (ec == asio::error::would_block) co_return true;  // nothing there
        if (ec) co_return false;                             // EOF or error: nothing to echo
        if (take(buffer.data(), received)) co_return true;
        co_return !failed_ && co_await write_unsent_then_free();
    }

    /// Drain: echoes what has arrived, and what keeps arriving without a pause (the rest of a
    /// message the client was sending when the drain began), then closes gracefully. A client
    /// that never pauses is cut off by the drain deadline.
    asio::awaitable<void> echo_received_then_close() {
        for (;;) {
            const std::uint64_t before = conn().bytes_in();
            if (!co_await echo_available()) co_return;
            if (conn().bytes_in() == before) break;  // nothing more to read right now
        }
        co_await conn().shutdown_and_linger();
    }

    /// Runs `step`, which starts the session's next operation or ends it; if starting throws
    /// (no memory for the operation), the session ends with that exception.
    template <typename Step>
    void go_on(Step step) {
        try {
            step();
        } catch (const std::exception&) {
            finish(std::current_exception());
        }
    }

    /// Stopped: a drain echoes what has arrived and closes gracefully; any other stop ends now.
    void wind_down() {
        if (conn().stop_requested() != net::stop_reason::drain) return finish(nullptr);
        auto& session = *this;
        asio::co_spawn(conn().executor(), echo_received_then_close(),
                       [&session](std::exception_ptr error) { session.finish(error); });
    }

    /// Runs `step` (true: go on), then reads again or ends.
    void then_read(asio::awaitable<bool> step) {
        auto& session = *this;
        asio::co_spawn(conn().executor(), std::move(step),
                       [&session](std::exception_ptr error, bool more) {
                           if (error || !more) return session.finish(error);
                           session.go_on([&session] { session.read(); });
                       });
    }

    void finish(std::exception_ptr error) noexcept {
        const net::serve_done done = std::move(done_);
        delete this;  // the reader refers to the connection: gone before it ends
        done(error);
    }

    // Every idle echo connection holds these (bench/README.md, the idle connection's budget):
    // kept to 40 bytes, a 48-byte heap chunk.
    net::serve_done done_;
    net::edge_reader reader_;
    /// What the peer did not take at once (the only copy), or null: most connections never
    /// need it, so it costs them a pointer.
    std::unique_ptr<std::vector<char>> unsent_;
    std::uint32_t limit_;  ///< the most read (and kept) at a time: max_buffer
    bool failed_ = false;  ///< a send failed, or the copy could not be made
};
static_assert(sizeof(echo_session) <= 40, "an idle echo connection's state: see above");

}  // namespace

void echo_handler::start(net::serve_done done) const {
    echo_session::start(std::move(done), static_cast<std::uint32_t>(cfg_.max_buffer));
}

}  // namespace pier::handlers
