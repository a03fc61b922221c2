#include "session.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
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
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Reconnect backoff: 10ms after the first failure, doubling to 1s, so a refusing or crashing
// server costs a few connects a second per slot instead of a busy loop.
constexpr auto min_backoff = 10ms;
constexpr auto max_backoff = 1s;

/// Echo payloads: message k is a window of a random pool starting at (k * 61) % 256, with k
/// itself in the first 8 bytes. Consecutive messages differ, so a stale, repeated or
/// misordered echo fails verification.
constexpr std::size_t pool_slack = 256;
constexpr std::size_t window_stride = 61;  // coprime with 256: every offset is used

std::uint64_t to_ns(steady::duration d) {
    return static_cast<std::uint64_t>(
        std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()));
}

class session {
public:
    session(thread_context& ctx, std::size_t slot)
        : ctx_(ctx), run_(ctx.run), opts_(ctx.run.opts), slot_(slot) {}

    asio::awaitable<void> run() {
        co_await wait_for_ramp_up();
        auto backoff = steady::duration(min_backoff);
        while (!stopping()) {
            auto socket = co_await connect();
            bool healthy = false;
            if (socket) {
                holding_connection hold(run_);
                healthy = co_await serve(*socket);
                boost::system::error_code ignored;
                socket->close(ignored);
            }
            if (stopping() || budget_exhausted_) break;
            if (healthy) {
                backoff = min_backoff;
                continue;
            }
            asio::steady_timer pause(co_await asio::this_coro::executor, backoff);
            co_await pause.async_wait(use_tuple);
            backoff = std::min<steady::duration>(backoff * 2, max_backoff);
        }
    }

private:
    /// Counts an established connection for the live line and the peak.
    struct holding_connection {
        run_context& run;
        explicit holding_connection(run_context& r) : run(r) {
            const auto now = run.open_connections.fetch_add(1, std::memory_order_relaxed) + 1;
            auto peak = run.peak_connections.load(std::memory_order_relaxed);
            while (now > peak && !run.peak_connections.compare_exchange_weak(
                                     peak, now, std::memory_order_relaxed)) {
            }
        }
        ~holding_connection() { run.open_connections.fetch_sub(1, std::memory_order_relaxed); }
        holding_connection(const holding_connection&) = delete;
        holding_connection& operator=(const holding_connection&) = delete;
    };

    bool stopping() const { return run_.stopping.load(std::memory_order_relaxed); }
    interval_stats& stats() { return *ctx_.current; }

    /// Takes one request from the --requests budget; false when it is spent.
    bool reserve_request() {
        if (run_.budget.fetch_sub(1, std::memory_order_relaxed) > 0) return true;
        budget_exhausted_ = true;
        return false;
    }

    /// Counts a failure, unless the run is stopping: then aborted operations are its own doing.
    void record_error(error_kind kind) {
        if (!stopping()) stats().errors.add(kind);
    }
    void record_error(const boost::system::error_code& ec) { record_error(classify(ec)); }

    asio::awaitable<void> wait_for_ramp_up() {
        if (opts_.connect_rate <= 0) co_return;
        const auto offset = std::chrono::duration_cast<steady::duration>(
            std::chrono::duration<double>(static_cast<double>(slot_) / opts_.connect_rate));
        asio::steady_timer timer(co_await asio::this_coro::executor, run_.start + offset);
        co_await timer.async_wait(use_tuple);
    }

    asio::awaitable<std::optional<tcp::socket>> connect() {
        auto executor = co_await asio::this_coro::executor;
        tcp::socket socket(executor);
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
            record_error(ec);
            co_return std::nullopt;
        }
        const auto began = steady::now();
        asio::steady_timer deadline(executor, opts_.connect_timeout);
        auto result = co_await (socket.async_connect(run_.target, use_tuple) ||
                                deadline.async_wait(use_tuple));
        if (result.index() == 1) {
            record_error(error_kind::timeout);
            co_return std::nullopt;
        }
        if (const auto [connect_ec] = std::get<0>(result); connect_ec) {
            record_error(connect_ec);
            co_return std::nullopt;
        }
        socket.set_option(tcp::no_delay(true), ec);
        stats().connects += 1;
        stats().connect_latency.record(to_ns(steady::now() - began));
        co_return socket;
    }

    /// Runs the mode's exchanges on one connection. Returns true when it ended in good order
    /// (stop, budget spent, churn's planned close), false after an error.
    asio::awaitable<bool> serve(tcp::socket& socket) {
        switch (opts_.mode) {
            case load_mode::idle: co_return co_await hold_idle(socket);
            case load_mode::churn: co_return co_await with_watchdog(echo_exchanges(socket, 1));
            case load_mode::line: co_return co_await with_watchdog(line_exchanges(socket));
            case load_mode::echo:
                co_return co_await with_watchdog(
                    echo_exchanges(socket, std::numeric_limits<std::uint64_t>::max()));
        }
        co_return false;
    }

    /// Races the exchanges against --timeout: a response outstanding for longer counts as a
    /// timeout and the connection is reopened. One timer per connection, not per request.
    asio::awaitable<bool> with_watchdog(asio::awaitable<bool> exchanges) {
        in_flight_ = 0;
        last_progress_ = steady::now();
        auto result = co_await (std::move(exchanges) || watchdog());
        if (result.index() == 1) {
            record_error(error_kind::timeout);
            co_return false;
        }
        co_return std::get<0>(result);
    }

    asio::awaitable<void> watchdog() {
        const auto period = std::max<steady::duration>(opts_.request_timeout / 4, 1ms);
        asio::steady_timer timer(co_await asio::this_coro::executor);
        for (;;) {
            timer.expires_after(period);
            co_await timer.async_wait(asio::use_awaitable);
            if (in_flight_ > 0 && steady::now() - last_progress_ > opts_.request_timeout) {
                co_return;
            }
        }
    }

    void prepare_pool() {
        if (pool_.size() == opts_.size + pool_slack) return;
        pool_.resize(opts_.size + pool_slack);
        std::mt19937_64 random(0x5eed0000 + slot_);
        for (auto& c : pool_) c = static_cast<char>(random());
        received_.resize(opts_.size);
    }

    std::size_t window_of(std::uint64_t k) const { return (k * window_stride) % pool_slack; }

    /// Sends message k of this connection.
    asio::awaitable<boost::system::error_code> send_message(tcp::socket& socket, std::uint64_t k) {
        const std::size_t header = std::min<std::size_t>(sizeof k, opts_.size);
        std::array<char, sizeof k> sequence{};
        std::memcpy(sequence.data(), &k, sizeof k);
        const std::array<asio::const_buffer, 2> message{
            asio::buffer(sequence.data(), header),
            asio::buffer(pool_.data() + window_of(k) + header, opts_.size - header)};
        auto [ec, n] = co_await asio::async_write(socket, message, use_tuple);
        stats().bytes_sent += n;
        co_return ec;
    }

    bool matches_message(std::uint64_t k) const {
        const std::size_t header = std::min<std::size_t>(sizeof k, opts_.size);
        return std::memcmp(received_.data(), &k, header) == 0 &&
               std::memcmp(received_.data() + header, pool_.data() + window_of(k) + header,
                           opts_.size - header) == 0;
    }

    /// Waits for this request's planned send time in open loop; returns the time latency is
    /// measured from (planned time in open loop, now in closed loop).
    asio::awaitable<steady::time_point> pace(std::uint64_t request_index) {
        if (opts_.rate <= 0) co_return steady::now();
        // Each connection sends at rate / connections, phase-shifted by slot so connections do
        // not fire in lockstep.
        const double interval_s = static_cast<double>(opts_.connections) / opts_.rate;
        const double phase =
            interval_s * static_cast<double>(slot_) / static_cast<double>(opts_.connections);
        const auto planned =
            schedule_start_ +
            std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(
                phase + interval_s * static_cast<double>(request_index)));
        if (planned > steady::now()) {
            asio::steady_timer timer(co_await asio::this_coro::executor, planned);
            co_await timer.async_wait(asio::use_awaitable);
        }
        co_return planned;
    }

    /// Echo (and churn): keeps --pipeline messages in flight; verifies every byte; stops after
    /// `limit` responses.
    asio::awaitable<bool> echo_exchanges(tcp::socket& socket, std::uint64_t limit) {
        prepare_pool();
        const std::size_t depth = opts_.pipeline;
        std::vector<steady::time_point> measured_from(depth);
        std::vector<steady::time_point> sent_at(depth);
        std::uint64_t sent = 0;
        std::uint64_t received = 0;
        if (opts_.rate > 0) schedule_start_ = run_.start;

        auto send_next = [&]() -> asio::awaitable<bool> {
            if (sent >= limit || stopping() || !reserve_request()) co_return false;
            const auto from = co_await pace(open_loop_index_++);
            const auto k = message_index_++;
            if (in_flight_ == 0) last_progress_ = steady::now();
            measured_from[sent % depth] = from;
            sent_at[sent % depth] = steady::now();
            ++in_flight_;
            ++sent;
            const auto ec = co_await send_message(socket, k);
            if (ec) record_error(ec);
            co_return !ec;
        };

        for (std::size_t i = 0; i < depth; ++i) {
            if (!co_await send_next()) break;
        }
        while (in_flight_ > 0) {
            auto [ec, n] = co_await asio::async_read(socket, asio::buffer(received_), use_tuple);
            stats().bytes_received += n;
            if (ec) {
                record_error(ec);
                co_return false;
            }
            const auto now = steady::now();
            const auto k = message_index_ - in_flight_;
            --in_flight_;
            last_progress_ = now;
            if (!matches_message(k)) {
                record_error(error_kind::verify_mismatch);
                co_return false;
            }
            const auto slot = received % depth;
            stats().latency.record(to_ns(now - measured_from[slot]));
            if (opts_.rate > 0) stats().uncorrected.record(to_ns(now - sent_at[slot]));
            stats().requests += 1;
            ++received;
            if (!co_await send_next() && in_flight_ == 0) break;
        }
        co_return true;
    }

    /// Line mode: --request out, a response ending in --response-delimiter back.
    asio::awaitable<bool> line_exchanges(tcp::socket& socket) {
        const std::size_t depth = opts_.pipeline;
        std::vector<steady::time_point> measured_from(depth);
        std::vector<steady::time_point> sent_at(depth);
        std::uint64_t sent = 0;
        std::uint64_t received = 0;
        std::string buffer;
        if (opts_.rate > 0) schedule_start_ = run_.start;

        auto send_next = [&]() -> asio::awaitable<bool> {
            if (stopping() || !reserve_request()) co_return false;
            const auto from = co_await pace(open_loop_index_++);
            if (in_flight_ == 0) last_progress_ = steady::now();
            measured_from[sent % depth] = from;
            sent_at[sent % depth] = steady::now();
            ++in_flight_;
            ++sent;
            auto [ec, n] =
                co_await asio::async_write(socket, asio::buffer(opts_.request), use_tuple);
            stats().bytes_sent += n;
            if (ec) record_error(ec);
            co_return !ec;
        };

        for (std::size_t i = 0; i < depth; ++i) {
            if (!co_await send_next()) break;
        }
        while (in_flight_ > 0) {
            // Bounded: a server that never sends the delimiter cannot grow this buffer forever.
            auto [ec, n] =
                co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer, max_line_),
                                                opts_.response_delimiter, use_tuple);
            if (ec) {
                stats().bytes_received += buffer.size();
                record_error(ec == asio::error::not_found ? asio::error::message_size : ec);
                co_return false;
            }
            stats().bytes_received += n;
            buffer.erase(0, n);
            const auto now = steady::now();
            --in_flight_;
            last_progress_ = now;
            const auto slot = received % depth;
            stats().latency.record(to_ns(now - measured_from[slot]));
            if (opts_.rate > 0) stats().uncorrected.record(to_ns(now - sent_at[slot]));
            stats().requests += 1;
            ++received;
            if (!co_await send_next() && in_flight_ == 0) break;
        }
        co_return true;
    }

    /// Idle: one 1-byte echo proves the connection is served, then it is held until the end.
    asio::awaitable<bool> hold_idle(tcp::socket& socket) {
        if (!reserve_request()) co_return true;
        const char probe = 'i';
        const auto began = steady::now();
        auto [write_ec, written] =
            co_await asio::async_write(socket, asio::buffer(&probe, 1), use_tuple);
        stats().bytes_sent += written;
        if (write_ec) {
            record_error(write_ec);
            co_return false;
        }
        char answer = 0;
        asio::steady_timer deadline(co_await asio::this_coro::executor, opts_.request_timeout);
        auto result = co_await (asio::async_read(socket, asio::buffer(&answer, 1), use_tuple) ||
                                deadline.async_wait(use_tuple));
        if (result.index() == 1) {
            record_error(error_kind::timeout);
            co_return false;
        }
        const auto [read_ec, n] = std::get<0>(result);
        stats().bytes_received += n;
        if (read_ec) {
            record_error(read_ec);
            co_return false;
        }
        if (answer != probe) {
            record_error(error_kind::verify_mismatch);
            co_return false;
        }
        stats().latency.record(to_ns(steady::now() - began));
        stats().requests += 1;
        // Hold until the run stops (cancellation) or the server closes the connection.
        auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_read, use_tuple);
        if (!stopping() && !wait_ec) {
            // Readable while idle: the server closed or reset it.
            char extra = 0;
            boost::system::error_code ec;
            socket.read_some(asio::buffer(&extra, 1), ec);
            record_error(ec ? ec : asio::error::message_size);
            co_return false;
        }
        co_return true;
    }

    // A line response longer than this is an error: 1MiB covers any sane line protocol.
    static constexpr std::size_t max_line_ = 1 << 20;

    thread_context& ctx_;
    run_context& run_;
    const options& opts_;
    const std::size_t slot_;
    std::string pool_;
    std::vector<char> received_;
    std::uint64_t message_index_ = 0;    ///< next echo message number on this slot
    std::uint64_t open_loop_index_ = 0;  ///< next planned send, across reconnects
    steady::time_point schedule_start_;
    std::size_t in_flight_ = 0;
    steady::time_point last_progress_;
    bool budget_exhausted_ = false;
};

}  // namespace

error_kind classify(const boost::system::error_code& ec) {
    if (ec == asio::error::connection_refused) return error_kind::refused;
    if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
        ec == asio::error::connection_aborted) {
        return error_kind::reset;
    }
    if (ec == asio::error::eof) return error_kind::unexpected_eof;
    if (ec == asio::error::timed_out) return error_kind::timeout;
    return error_kind::other;
}

asio::awaitable<void> run_session(thread_context& ctx, std::size_t slot) {
    session s(ctx, slot);
    co_await s.run();
}

}  // namespace pierload::detail
