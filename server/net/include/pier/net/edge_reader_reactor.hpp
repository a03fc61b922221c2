// edge_reader on Asio's reactor internals: the reactor path (edge_reader.hpp says what the class
// does and when this path is used).
//
// Asio's reactor tries every read at once ("speculatively") unless the socket's last read
// returned 0 bytes: it takes only a 0-byte read as proof that the socket is drained. So a relay
// that reads a message, forwards it and reads again pays a recv() failing with EAGAIN before
// each wait: one wasted system call per message and direction. (async_wait is no way out: it
// re-arms the descriptor with epoll_ctl(MOD) every time instead.)
//
// This path's read reports the socket drained when it is: the read was shorter than the
// buffer and the kernel says nothing is left (TCP_INQ: the bytes still queued, and 1 when a
// FIN is pending). The reactor then queues the next read without trying it, to run when epoll
// reports new data; the reactor registers sockets edge-triggered, so every arrival after the
// read raises a new edge, and its per-descriptor lock orders that edge against queueing the
// read. HAProxy does the same (fd_done_recv after a short read).
//
// One gap: a reset (RST) that arrived together with the last bytes leaves no further edge and
// TCP_INQ does not show it. So a relay quiet for a while has its sockets looked at once
// (connection::recheck_sockets, from the listener's sweep): where the peer is gone or done
// sending, cancel_read() ends the parked read, and the relay reads again with read_now set,
// which tries the socket at once whatever the reactor believes.
//
// A forwarding read whose sink takes a chunk that drains the socket does not complete: the
// operation stays queued with the reactor. A relay whose other side takes every message at
// once then moves bytes with one recv() and one send() per message and nothing else: no
// completion, no coroutine resumed, no operation queued again (what HAProxy's event loop
// costs). Sinks run on whichever thread performs the read: the one running the reactor, or the
// one starting the read (Asio tries a read at once when the socket may hold data).
//
// Built as Asio's own socket operations are (reactive_socket_service_base::async_receive,
// reactive_socket_recv_op), on asio::detail: server/edge_reader.cmake lists the Boost versions
// it was checked against.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "pier/net/byte_stream.hpp"
#include "pier/net/chunk_sink.hpp"
#include "pier/net/scratch_buffer.hpp"

namespace pier::net {

namespace edge_read_detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using reactor_status = asio::detail::reactor_op::status;

/// What one read found. `status`: not_done on EAGAIN; done when more may be waiting;
/// done_and_exhausted when the socket is drained (or failed, or at EOF: as Asio's own read).
/// `more_queued`: this read's queue hint said bytes (or a FIN) are queued behind it, for
/// certain (done without a hint is only "may be"). Small enough to come back in a register.
struct read_status {
    reactor_status status;
    bool more_queued;
};

/// One recvmsg() into `buffer`.
read_status receive(int descriptor, asio::mutable_buffer buffer, boost::system::error_code& ec,
                    std::size_t& bytes);

/// Asks the kernel to report with every read how much is left (TCP_INQ, Linux 4.18). Where
/// it cannot, reads carry no hint and never report the socket drained before EOF (Asio's
/// behaviour).
void enable_queue_hint(stream_socket& socket);

/// The socket's reactor-side state (descriptor, flags, the reactor's per-descriptor data).
/// impl_ is protected in basic_socket; a pointer to it formed in a derived class may be
/// applied to any socket.
struct socket_access : stream_socket {
    static auto& implementation(stream_socket& socket) {
        return (socket.*(&socket_access::impl_)).get_implementation();
    }
};

/// The operation queued with the reactor: receive() once per readiness, and with a sink,
/// the chunk handed to it.
template <typename Handler, typename IoExecutor>
class read_op : public asio::detail::reactor_op {
public:
    BOOST_ASIO_DEFINE_HANDLER_PTR(read_op);

    read_op(int descriptor, asio::mutable_buffer buffer, chunk_sink sink, Handler& handler,
            const IoExecutor& io_ex)
        : reactor_op(boost::system::error_code(), &read_op::do_perform, &read_op::do_complete),
          buffer_data_(buffer.data()),
          buffer_size_(static_cast<std::uint32_t>(
              std::min<std::size_t>(buffer.size(), std::numeric_limits<std::uint32_t>::max()))),
          descriptor_(descriptor),
          sink_(sink),
          handler_(std::move(handler)),
          work_(handler_, io_ex) {}

    static status do_perform(reactor_op* base) {
        auto* o = static_cast<read_op*>(base);
        // No buffer of its own (async_forward_through_scratch): the performing thread's.
        const auto buffer = o->buffer_data_ != nullptr
                                ? asio::mutable_buffer(o->buffer_data_, o->buffer_size_)
                                : scratch_buffer(o->buffer_size_);
        if (buffer.size() == 0) {  // (a 0-byte read would report EOF)
            o->ec_ = asio::error::no_memory;
            o->bytes_transferred_ = 0;
            return done_and_exhausted;
        }
        const auto [received, more] =
            receive(o->descriptor_, buffer, o->ec_, o->bytes_transferred_);
        if (received == not_done || o->ec_ || o->sink_.take == nullptr) return received;
        const bool reading_on =
            received != done_and_exhausted && o->bytes_transferred_ < max_bytes_in_a_row;
        // `more` only when the next read follows at once: bytes held back with MSG_MORE must
        // not wait for a completion to go through the scheduler.
        const bool taken = o->sink_.take(o->sink_.context, static_cast<const char*>(buffer.data()),
                                         o->bytes_transferred_, more && reading_on);
        if (!taken) return received;  // complete with the chunk the sink refused
        // Taken and drained: nothing to report, wait for the next edge as after EAGAIN (the
        // reactor keeps the operation queued; a cancel then completes it with 0 bytes).
        if (received == done_and_exhausted) {
            o->bytes_transferred_ = 0;
            return not_done;
        }
        if (!reading_on) return received;
        return read_on(o, buffer, o->bytes_transferred_);
    }

    /// A chunk was taken and more is waiting: reads it here rather than complete and come
    /// back through the scheduler and epoll_wait, up to max_chunks_in_a_row chunks or
    /// max_bytes_in_a_row bytes in all (fairness: the reactor holds the socket's lock
    /// meanwhile). Apart from do_perform, so a message that drains the socket (the common
    /// case) runs no loop. `forwarded`: the bytes taken so far.
    static status read_on(read_op* o, asio::mutable_buffer buffer, std::size_t forwarded) {
        static_assert(max_chunks_in_a_row >= 2);  // do_perform read the first
        for (unsigned chunks = 2;; ++chunks) {
            const auto [received, more] =
                receive(o->descriptor_, buffer, o->ec_, o->bytes_transferred_);
            if (received == not_done) {
                // EAGAIN (without the queue hint `done` was only "may be"): wait for the
                // next edge. No chunk went with `more` then: that takes a certain hint.
                o->bytes_transferred_ = 0;
                return not_done;
            }
            if (o->ec_) return received;
            forwarded += o->bytes_transferred_;
            const bool reading_on = received != done_and_exhausted &&
                                    chunks < max_chunks_in_a_row && forwarded < max_bytes_in_a_row;
            const bool taken =
                o->sink_.take(o->sink_.context, static_cast<const char*>(buffer.data()),
                              o->bytes_transferred_, more && reading_on);
            if (!taken) return received;
            if (received == done_and_exhausted) {
                o->bytes_transferred_ = 0;
                return not_done;
            }
            if (!reading_on) return received;
        }
    }

    // As Asio's reactive_socket_recv_op::do_complete.
    static void do_complete(void* owner, asio::detail::operation* base,
                            const boost::system::error_code& /*ec*/,
                            std::size_t /*bytes_transferred*/) {
        auto* o = static_cast<read_op*>(base);
        ptr p = {std::addressof(o->handler_), o, o};
        asio::detail::handler_work<Handler, IoExecutor> w(std::move(o->work_));
        // The handler may own the operation's memory: move it out before freeing that.
        asio::detail::binder2<Handler, boost::system::error_code, std::size_t> handler(
            o->handler_, o->ec_, o->bytes_transferred_);
        p.h = std::addressof(handler.handler_);
        p.reset();
        if (owner) {
            asio::detail::fenced_block b(asio::detail::fenced_block::half);
            w.complete(handler, handler.handler_);
        }
    }

private:
    // The buffer as a pointer and a 32-bit size beside the descriptor, not a mutable_buffer
    // after it: 8 bytes less in an operation every idle echo connection holds (120 bytes, a
    // 128-byte heap chunk: bench/README.md). A larger buffer is read 4 GiB at most at a time.
    void* buffer_data_;  ///< null: the performing thread's scratch buffer
    std::uint32_t buffer_size_;
    int descriptor_;
    chunk_sink sink_;
    Handler handler_;
    asio::detail::handler_work<Handler, IoExecutor> work_;
};

/// Per-operation cancellation (a cancellation slot), as Asio's reactor_op_cancellation. The
/// key is the socket, as for cancel_read(): a socket has one edge_reader read at a time.
class read_cancellation {
public:
    read_cancellation(asio::detail::reactor* reactor,
                      asio::detail::reactor::per_descriptor_data* data, int descriptor, void* key)
        : reactor_(reactor), data_(data), descriptor_(descriptor), key_(key) {}

    void operator()(asio::cancellation_type_t type) {
        if (!!(type & (asio::cancellation_type::terminal | asio::cancellation_type::partial |
                       asio::cancellation_type::total))) {
            reactor_->cancel_ops_by_key(descriptor_, *data_, asio::detail::reactor::read_op, key_);
        }
    }

private:
    asio::detail::reactor* reactor_;
    asio::detail::reactor::per_descriptor_data* data_;
    int descriptor_;
    void* key_;
};

/// As Asio's reactive_socket_service_base::async_receive, with read_op.
struct initiate_read {
    template <typename Handler>
    void operator()(Handler&& handler, stream_socket* socket, asio::detail::reactor* reactor,
                    asio::mutable_buffer buffer, bool read_now, chunk_sink sink) const {
        using handler_type = std::decay_t<Handler>;
        // The socket's executor is the io_context's own (byte_stream.hpp): the operation keeps
        // no type-erased executor for its work tracking.
        using op = read_op<handler_type, stream_socket::executor_type>;
        auto& impl = socket_access::implementation(*socket);
        const bool is_continuation = boost_asio_handler_cont_helpers::is_continuation(handler);
        auto slot = asio::get_associated_cancellation_slot(handler);
        typename op::ptr p = {std::addressof(handler), op::ptr::allocate(handler), nullptr};
        p.p = new (p.v) op(impl.socket_, buffer, sink, handler, socket->get_executor());
        p.p->cancellation_key_ = socket;  // for the slot and for cancel_read()
        if (slot.is_connected()) {
            slot.template emplace<read_cancellation>(reactor, &impl.reactor_data_, impl.socket_,
                                                     socket);
        }
        namespace ops = asio::detail::socket_ops;
        if ((impl.state_ & ops::non_blocking) != 0 ||
            ops::set_internal_non_blocking(impl.socket_, impl.state_, true, p.p->ec_)) {
            if (read_now && impl.reactor_data_ != nullptr && p.p->perform()) {
                // Tried here, outside the reactor: no other read of this socket is queued.
                // (A chunk a sink took here leaves not_done: then started as below, where
                // the reactor may try it again at once.)
                reactor->post_immediate_completion(p.p, is_continuation);
            } else {
                // allow_speculative: tried at once unless the last read drained the socket. A
                // closed socket (no reactor data) completes with bad_descriptor.
                reactor->start_op(asio::detail::reactor::read_op, impl.socket_, impl.reactor_data_,
                                  p.p, is_continuation, true);
            }
        } else {
            reactor->post_immediate_completion(p.p, is_continuation);
        }
        p.v = p.p = nullptr;
    }
};

/// The reactor path's reads, behind edge_reader (which documents them).
class reader_path {
public:
    explicit reader_path(byte_stream& stream) : stream_(stream) {
        enable_queue_hint(stream.tcp_socket());
    }

    byte_stream& stream() const { return stream_; }

    /// `buffer.data()` null: read through the performing thread's scratch buffer.
    ///
    /// The reactor is looked up here, once per read started (a forwarding read stays queued
    /// across messages, so that is once per completion, not per message), rather than kept:
    /// an idle echo connection holds its reader, and 8 bytes more would take its session to
    /// the next heap chunk (bench/README.md, the idle connection's budget).
    template <typename CompletionToken>
    auto async_read(asio::mutable_buffer buffer, bool read_now, chunk_sink sink,
                    CompletionToken&& token) {
        auto& reactor = asio::use_service<asio::detail::reactor>(
            asio::query(stream_.get_executor(), asio::execution::context));
        return asio::async_initiate<CompletionToken, void(boost::system::error_code, std::size_t)>(
            initiate_read{}, token, &stream_.tcp_socket(), &reactor, buffer, read_now, sink);
    }

    static void cancel_read(stream_socket& socket);

private:
    byte_stream& stream_;
};

}  // namespace edge_read_detail
}  // namespace pier::net
