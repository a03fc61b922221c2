#include "session.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <optional>
#include <random>
#include <string>

namespace pierload::detail {
namespace {

using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable_t<executor>{});

class session final : public session_base {
public:
    session(thread_context& ctx, std::size_t slot, const executor& ex)
        : ctx_(ctx),
          run_(ctx.run),
          opts_(ctx.run.opts),
          slot_(slot),
          timer_(ex),
          in_flight_(opts_.pipeline) {
        ctx_.sessions.push_back(*this);
    }
    ~session() override { ctx_.sessions.erase(ctx_.sessions.iterator_to(*this)); }
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    void abort() override {
        timer_.cancel();
        close_connection();
    }

    bool expire(steady::time_point now, std::chrono::nanoseconds timeout) override {
        if (in_flight_.size() == 0 || now - in_flight_.oldest_sent_at() <= timeout) return false;
        timed_out_ = true;
        close_connection();
        return true;
    }

    task<void> run() {
        if (opts_.connect_rate > 0) {
            // Ramp-up: slot i starts i / connect_rate seconds after the run.
            timer_.expires_at(run_.start +
                              seconds(static_cast<double>(slot_) / opts_.connect_rate));
            co_await timer_.async_wait(use_tuple);
        }
        auto backoff = steady::duration(min_backoff);
        while (!stopping()) {
            auto socket = co_await connect();
            bool healthy = false;
            if (socket) {
                holding_connection hold(run_);
                socket_ = &*socket;
                timed_out_ = false;
                in_flight_.clear();
                rx_begin_ = rx_end_ = 0;
                healthy = co_await serve(*socket);
                if (timed_out_) record_error(error_kind::timeout);
                close_connection();
                socket_ = nullptr;
            }
            if (stopping() || budget_exhausted_) break;
            if (healthy) {
                backoff = min_backoff;
                continue;
            }
            timer_.expires_after(backoff);
            co_await timer_.async_wait(use_tuple);
            backoff = std::min<steady::duration>(backoff * 2, max_backoff);
        }
    }

private:
    /// Counts an established connection for the live line and the peak.
    struct holding_connection {
        run_context& run;
        explicit holding_connection(run_context& r) : run(r) {
            count_connection_opened(run.open_connections, run.peak_connections);
        }
        ~holding_connection() { run.open_connections.fetch_sub(1, std::memory_order_relaxed); }
        holding_connection(const holding_connection&) = delete;
        holding_connection& operator=(const holding_connection&) = delete;
    };

    bool stopping() const { return run_.stopping.load(std::memory_order_relaxed); }
    interval_stats& stats() { return *ctx_.current; }

    void close_connection() {
        if (socket_ == nullptr) return;
        boost::system::error_code ignored;
        socket_->close(ignored);
    }

    /// Takes one request from the --requests budget; false when it is spent.
    bool reserve_request() {
        // Without --requests there is no budget: skip the shared counter, whose cache line
        // would otherwise bounce between client threads on every request.
        if (!opts_.requests) return true;
        if (run_.budget.fetch_sub(1, std::memory_order_relaxed) > 0) return true;
        budget_exhausted_ = true;
        return false;
    }

    /// Counts a failure, unless it is the run's own doing: stopping, or the watchdog closing
    /// a connection (counted once, as a timeout, by run()).
    void record_error(error_kind kind) {
        if (!stopping()) stats().errors.add(kind);
    }
    void record_io_error(const boost::system::error_code& ec) {
        if (!timed_out_) record_error(classify(ec));
    }

    task<std::optional<socket_type>> connect() {
        socket_type socket(timer_.get_executor());
        boost::system::error_code ec;
        socket.open(run_.target.protocol(), ec);
        if (!ec && !run_.sources.empty()) {
            // Let connect() pick the port for this source address: binding with port 0 would
            // reserve one per address up front and run out at ~28k connections.
            int on = 1;
            ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
                         sizeof on);
            socket.bind({run_.sources[slot_ % run_.sources.size()], 0}, ec);
        }
        if (ec) {
            record_error(classify(ec));
            co_return std::nullopt;
        }
        const auto began = steady::now();
        socket_ = &socket;  // so abort() reaches a connect in progress
        timer_.expires_after(opts_.connect_timeout);
        auto result =
            co_await (socket.async_connect(run_.target, use_tuple) || timer_.async_wait(use_tuple));
        socket_ = nullptr;
        if (result.index() == 1) {
            record_error(error_kind::timeout);
            co_return std::nullopt;
        }
        if (const auto [connect_ec] = std::get<0>(result); connect_ec) {
            record_error(classify(connect_ec));
            co_return std::nullopt;
        }
        socket.set_option(tcp::no_delay(true), ec);
        // Writes are tried directly first (see try_send); Asio only waits.
        socket.non_blocking(true, ec);
        const auto now = steady::now();
        stats().count_connect(now, to_ns(now - began));
        co_return socket;
    }

    /// Runs the mode's exchanges on one connection. Returns true when it ended in good order
    /// (stop, budget spent, churn's planned close), false after an error.
    task<bool> serve(socket_type& socket) {
        switch (opts_.mode) {
            case load_mode::idle: co_return co_await hold_idle(socket);
            case load_mode::churn: co_return co_await exchange(socket, 1);
            case load_mode::line:
            case load_mode::echo:
                co_return co_await exchange(socket, std::numeric_limits<std::uint64_t>::max());
        }
        co_return false;
    }

    void prepare_buffers() {
        ctx_.payloads.prepare(opts_.size, 0x5eed0000 + slot_);
        rx_.resize(echo_receive_buffer_size(opts_.size, opts_.pipeline));
    }

    /// Whether the message at rx_begin_ is message k.
    bool matches_message(std::uint64_t k) const {
        return ctx_.payloads.matches(slot_, k, rx_.data() + rx_begin_);
    }

    /// Open loop: when request number `index` of this slot is due. Each connection sends at
    /// rate / connections, phase-shifted by slot so connections do not fire in lockstep.
    steady::time_point planned_time(std::uint64_t index) const {
        const double interval_s = static_cast<double>(opts_.connections) / opts_.rate;
        const double phase =
            interval_s * static_cast<double>(slot_) / static_cast<double>(opts_.connections);
        return run_.start + seconds(phase + interval_s * static_cast<double>(index));
    }

    /// Tries to write all of `message` at once (the socket is non-blocking): the common case,
    /// one send() and no Asio operation. Returns how much the kernel took, or sets `ec`.
    template <typename ConstBufferSequence>
    std::size_t try_send(socket_type& socket, const ConstBufferSequence& message,
                         boost::system::error_code& ec) {
        std::size_t written = socket.write_some(message, ec);
        if (ec == asio::error::would_block) {
            written = 0;
            ec = {};
        }
        stats().bytes_sent += written;
        return written;
    }

    /// The rare rest of a send the kernel did not take at once.
    task<bool> send_rest(socket_type& socket, const std::array<asio::const_buffer, 2>& message,
                         std::size_t written) {
        // Copied out: the buffers point into state the loop reuses.
        const auto rest = asio::buffers_begin(message) + static_cast<std::ptrdiff_t>(written);
        const std::string tail(rest, asio::buffers_end(message));
        auto [ec, n] = co_await asio::async_write(socket, asio::buffer(tail), use_tuple);
        stats().bytes_sent += n;
        if (ec) record_io_error(ec);
        co_return !ec;
    }

    /// Room to receive after the unread bytes for a message of `size`: moves the unread bytes
    /// to the front when the tail is too short. Returns the free tail.
    asio::mutable_buffer receive_space(std::size_t size) {
        if (rx_.size() - rx_begin_ < size) {
            std::memmove(rx_.data(), rx_.data() + rx_begin_, rx_end_ - rx_begin_);
            rx_end_ -= rx_begin_;
            rx_begin_ = 0;
        }
        return asio::buffer(rx_.data() + rx_end_, rx_.size() - rx_end_);
    }

    /// Echo message k: its sequence number, then its window of the pool.
    std::array<asio::const_buffer, 2> echo_message(std::uint64_t k,
                                                   std::array<char, 8>& sequence) const {
        const auto& payloads = ctx_.payloads;
        std::memcpy(sequence.data(), &k, sizeof k);
        return {asio::buffer(sequence.data(), payloads.header_size()),
                asio::buffer(payloads.body(slot_, k), payloads.body_size())};
    }

    /// Echo, line and churn: keeps --pipeline requests in flight (closed loop) or sends on
    /// schedule (open loop, one in flight), until `limit` responses, the budget or the stop.
    /// Writes and reads are awaited right here, not in nested coroutines: a request then costs
    /// two Asio operations and no coroutine frame of its own.
    task<bool> exchange(socket_type& socket, std::uint64_t limit) {
        const bool line_mode = opts_.mode == load_mode::line;
        if (!line_mode) prepare_buffers();
        line_buffer_.clear();
        const bool open_loop = opts_.rate > 0;
        std::array<char, 8> sequence{};
        std::uint64_t sent = 0;
        for (;;) {
            // Fill the pipeline.
            while (!in_flight_.full() && sent < limit && !stopping()) {
                if (!reserve_request()) break;
                auto now = steady::now();
                auto measured_from = now;
                if (open_loop) {
                    const auto planned = planned_time(next_planned_++);
                    if (planned > now) {
                        timer_.expires_at(planned);
                        co_await timer_.async_wait(use_tuple);
                        if (stopping()) co_return true;
                        now = steady::now();
                    }
                    measured_from = planned;
                }
                in_flight_.push(measured_from, now);
                ++sent;
                const auto message =
                    line_mode ? std::array<asio::const_buffer, 2>{asio::buffer(opts_.request)}
                              : echo_message(next_message_++, sequence);
                boost::system::error_code ec;
                std::size_t written = 0;
                if (line_mode) {
                    written = try_send(socket, message[0], ec);
                } else if (opts_.size <= contiguous_limit) {
                    auto& scratch = ctx_.send_scratch;
                    scratch.resize(opts_.size);
                    asio::buffer_copy(asio::buffer(scratch), message);
                    written = try_send(socket, asio::buffer(scratch), ec);
                } else {
                    written = try_send(socket, message, ec);
                }
                if (ec) {
                    record_io_error(ec);
                    co_return false;
                }
                if (written < asio::buffer_size(message) &&
                    !co_await send_rest(socket, message, written)) {
                    co_return false;
                }
            }
            if (in_flight_.size() == 0) co_return true;

            if (line_mode) {
                // Bounded: a server that never sends the delimiter cannot grow this forever.
                auto [ec, n] = co_await asio::async_read_until(
                    socket, asio::dynamic_buffer(line_buffer_, max_line), opts_.response_delimiter,
                    use_tuple);
                if (ec) {
                    stats().bytes_received += line_buffer_.size();
                    record_io_error(ec == asio::error::not_found ? asio::error::message_size : ec);
                    co_return false;
                }
                stats().bytes_received += n;
                line_buffer_.erase(0, n);
            } else {
                // Reads go into a buffer larger than one message: a read that returns less than
                // it asked for tells Asio the socket is drained, so the next one skips its
                // speculative recv and waits for the edge; a response then costs one recv.
                // (read_some + async_wait would add an epoll_ctl per wait: Asio re-arms the
                // descriptor for every async_wait.) Awaited here, not in a nested coroutine.
                while (rx_end_ - rx_begin_ < opts_.size) {
                    auto [ec, n] =
                        co_await socket.async_read_some(receive_space(opts_.size), use_tuple);
                    rx_end_ += n;
                    stats().bytes_received += n;
                    if (ec) {
                        record_io_error(ec);
                        co_return false;
                    }
                }
                const bool matches = matches_message(next_message_ - in_flight_.size());
                rx_begin_ += opts_.size;
                if (!matches) {
                    record_error(error_kind::verify_mismatch);
                    co_return false;
                }
            }
            const auto now = steady::now();
            stats().latency.record(to_ns(now - in_flight_.oldest_measured_from()));
            if (open_loop) stats().uncorrected.record(to_ns(now - in_flight_.oldest_sent_at()));
            stats().requests += 1;
            in_flight_.pop();
        }
    }

    /// Idle: one 1-byte echo proves the connection is served, then it is held until the end.
    task<bool> hold_idle(socket_type& socket) {
        if (!reserve_request()) co_return true;
        const char probe = 'i';
        const auto began = steady::now();
        in_flight_.push(began, began);  // the watchdog enforces --timeout on the probe
        auto [write_ec, written] =
            co_await asio::async_write(socket, asio::buffer(&probe, 1), use_tuple);
        stats().bytes_sent += written;
        if (write_ec) {
            record_io_error(write_ec);
            co_return false;
        }
        char answer = 0;
        auto [read_ec, n] = co_await asio::async_read(socket, asio::buffer(&answer, 1), use_tuple);
        stats().bytes_received += n;
        if (read_ec) {
            record_io_error(read_ec);
            co_return false;
        }
        in_flight_.pop();
        if (answer != probe) {
            record_error(error_kind::verify_mismatch);
            co_return false;
        }
        stats().latency.record(to_ns(steady::now() - began));
        stats().requests += 1;
        // Hold until the run stops (the socket is closed) or the server closes the connection.
        auto [wait_ec] = co_await socket.async_wait(socket_type::wait_read, use_tuple);
        if (stopping() || wait_ec) co_return true;
        // Readable while idle: the server closed or reset it.
        char extra = 0;
        boost::system::error_code ec;
        socket.read_some(asio::buffer(&extra, 1), ec);
        record_io_error(ec ? ec : asio::error::message_size);
        co_return false;
    }

    thread_context& ctx_;
    run_context& run_;
    const options& opts_;
    const std::size_t slot_;
    /// The one timer a session waits on (ramp-up, backoff, connect deadline, open-loop pace);
    /// never two waits at once.
    timer_type timer_;
    socket_type* socket_ = nullptr;  ///< the connection in use, for abort() and expire()
    bool timed_out_ = false;         ///< expire() closed the connection
    in_flight_requests in_flight_;
    std::vector<char> rx_;  ///< received echo bytes; [rx_begin_, rx_end_) unread
    std::size_t rx_begin_ = 0;
    std::size_t rx_end_ = 0;
    std::string line_buffer_;
    std::uint64_t next_message_ = 0;  ///< next echo message number on this slot
    std::uint64_t next_planned_ = 0;  ///< next open-loop schedule slot, across reconnects
    bool budget_exhausted_ = false;
};

}  // namespace

error_kind classify(const boost::system::error_code& ec) {
    if (ec == asio::error::eof) return error_kind::unexpected_eof;
    if (ec.category() == boost::system::system_category()) return classify_errno(ec.value());
    return error_kind::other;
}

task<void> run_session(thread_context& ctx, std::size_t slot) {
    session s(ctx, slot, co_await asio::this_coro::executor);
    co_await s.run();
}

task<void> run_watchdog(thread_context& ctx) {
    const auto timeout = ctx.run.opts.request_timeout;
    // A quarter of the timeout: a stuck request is noticed at most 25% late.
    const auto period = std::max<steady::duration>(timeout / 4, 1ms);
    timer_type timer(co_await asio::this_coro::executor);
    ctx.watchdog_timer = &timer;
    while (!ctx.run.stopping.load(std::memory_order_relaxed)) {
        timer.expires_after(period);
        co_await timer.async_wait(use_tuple);
        const auto now = steady::now();
        for (auto& s : ctx.sessions) s.expire(now, timeout);
    }
    ctx.watchdog_timer = nullptr;
}

void stop_thread_sessions(thread_context& ctx) {
    for (auto& s : ctx.sessions) s.abort();
    if (ctx.watchdog_timer != nullptr) ctx.watchdog_timer->cancel();
}

}  // namespace pierload::detail
