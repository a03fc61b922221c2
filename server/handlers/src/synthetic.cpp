#include "pier/handlers/synthetic.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "pier/handlers/synthetic_request.hpp"
#include "pier/handlers/worker_buffer.hpp"

namespace pier::handlers {
namespace {

namespace asio = boost::asio;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t read_chunk = synthetic_read_chunk;
/// Responses are written in pieces of at most this many bytes, cut from one shared pattern.
constexpr std::size_t pattern_size = 64 * 1024;

std::chrono::nanoseconds thread_cpu_now() {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

/// Spends `amount` of this thread's CPU time. Checked on the thread CPU clock, not the wall
/// clock: time the worker spends preempted does not count, so the request costs what it says.
void burn_cpu(std::chrono::nanoseconds amount) {
    if (amount <= std::chrono::nanoseconds::zero()) return;
    const auto until = thread_cpu_now() + amount;
    std::uint64_t x = 0x9e3779b97f4a7c15ULL;
    do {
        // About a microsecond of arithmetic between clock reads (each read is a system call).
        for (int i = 0; i < 1000; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        asm volatile("" : : "r"(x));  // keeps the loop from being optimised away
    } while (thread_cpu_now() < until);
}

/// "OK" then 'x's: the bytes every response is cut from (synthetic_response_byte()).
const std::string& response_pattern() {
    static const std::string pattern = [] {
        std::string p(pattern_size, 'x');
        p[0] = 'O';
        p[1] = 'K';
        return p;
    }();
    return pattern;
}

/// Writes both buffers, counting the bytes. False when the connection failed.
asio::awaitable<bool> write_counted(net::connection& conn,
                                    const std::array<asio::const_buffer, 2>& buffers) {
    const net::connection::write_scope writing(conn);  // write_timeout applies
    auto [ec, written] = co_await asio::async_write(conn.stream(), buffers, use_tuple);
    conn.count_out(written);
    conn.touch();
    co_return !ec;
}

/// Writes a response of `size` bytes: the pattern's first size-1 bytes, then '\n' (in pieces
/// for responses longer than the pattern, whose bytes past the "OK" are all 'x').
asio::awaitable<bool> write_response(net::connection& conn, std::uint64_t size) {
    static constexpr char newline = '\n';
    const auto& pattern = response_pattern();
    std::uint64_t body = size - 1;  // bytes before the '\n'
    std::size_t from = 0;           // "OK" only at the very start
    while (body > pattern.size() - from) {
        const std::size_t piece = pattern.size() - from;
        if (!co_await write_counted(
                conn, {asio::buffer(pattern.data() + from, piece), asio::const_buffer()})) {
            co_return false;
        }
        body -= piece;
        from = 2;
    }
    co_return co_await write_counted(
        conn, {asio::buffer(pattern.data() + from, static_cast<std::size_t>(body)),
               asio::buffer(&newline, 1)});
}

asio::awaitable<bool> write_error(net::connection& conn, const std::string& reason) {
    const std::string line = "ERR " + reason + "\n";
    co_return co_await write_counted(conn, {asio::buffer(line), asio::const_buffer()});
}

/// Serves one request line. False when the connection is over.
asio::awaitable<bool> answer(net::connection& conn, std::string_view line,
                             const synthetic_request& defaults) {
    conn.count_request();
    const auto parsed = parse_synthetic_request(line, defaults);
    if (!parsed) {
        conn.count_handler_error();
        co_return co_await write_error(conn, parsed.error());
    }
    const auto& request = parsed.value();
    burn_cpu(request.cpu);
    if (request.delay > std::chrono::nanoseconds::zero()) {
        // A timer only while a request waits: an idle connection holds none.
        if (!co_await conn.sleep_for(request.delay)) co_return false;  // idle timeout, shutdown
    }
    co_return co_await write_response(conn, request.size);
}

/// A connection's received bytes not yet answered, and what it does with them.
class request_reader {
public:
    request_reader(net::connection& conn, const config::synthetic_config& cfg)
        : conn_(conn), max_line_(static_cast<std::size_t>(cfg.max_line)) {}

    /// Reads what the stream has without waiting. False on EOF or error (nothing more will
    /// come); true otherwise, including when nothing was there.
    bool read_available() {
        auto& buffer = worker_buffer(read_chunk);
        boost::system::error_code ec;
        const std::size_t n =
            conn_.stream().read_available(asio::buffer(buffer.data(), read_chunk), ec);
        if (ec == asio::error::would_block) return true;
        if (ec) return false;
        conn_.count_in(n);
        conn_.touch();
        // Copied out of the worker's buffer before the next suspension.
        pending_.append(buffer.data(), n);
        return true;
    }

    /// Answers every complete line received, in order. False when the connection is over
    /// (failed, or closed after an over-long line).
    asio::awaitable<bool> answer_complete_lines(const synthetic_request& defaults) {
        std::size_t consumed = 0;
        for (;;) {
            const auto newline = pending_.find('\n', consumed);
            const std::size_t length =
                (newline == std::string::npos ? pending_.size() : newline) - consumed;
            if (length > max_line_) {
                // Also a partial line already past the limit: no need to wait for its end.
                conn_.end_request();  // judged: the error answer is not cut short
                conn_.count_request();
                conn_.count_handler_error();
                co_await write_error(conn_,
                                     "line too long (max " + std::to_string(max_line_) + " bytes)");
                co_await conn_.shutdown_and_linger();
                co_return false;
            }
            if (newline == std::string::npos) break;
            // Received in full: request_timeout does not cover the time spent answering it.
            conn_.end_request();
            const std::string_view line(pending_.data() + consumed, length);
            if (!co_await answer(conn_, line, defaults)) co_return false;
            consumed = newline + 1;
        }
        pending_.erase(0, consumed);
        // A partial line is a request begun: it must be complete within request_timeout of
        // its first byte (slowloris), however often more bytes of it arrive.
        if (!pending_.empty()) conn_.begin_request();
        // Idle again: give the heap back (a short partial line fits the string itself).
        if (pending_.empty()) pending_.shrink_to_fit();
        co_return true;
    }

private:
    net::connection& conn_;
    const std::size_t max_line_;
    std::string pending_;  ///< received, not yet answered; at most one partial line between reads
};

asio::awaitable<void> run_synthetic(net::connection& conn, config::synthetic_config cfg) {
    const synthetic_request defaults{cfg.cpu, cfg.delay, cfg.response_bytes};
    request_reader reader(conn, cfg);
    while (co_await conn.wait_readable()) {
        // EOF ends the conversation after the lines that came before it are answered.
        const bool more = reader.read_available();
        if (!co_await reader.answer_complete_lines(defaults) || !more) co_return;
    }
    if (conn.stop_requested() != net::stop_reason::drain) co_return;
    // Drain: answer the lines that have arrived (what the client sent before it saw the
    // drain), then close gracefully.
    const bool more = reader.read_available();
    if (!co_await reader.answer_complete_lines(defaults) || !more) co_return;
    co_await conn.shutdown_and_linger();
}

}  // namespace

void synthetic_handler::start(net::serve_done done) const {
    auto& conn = done.conn();
    net::spawn_serve(std::move(done), run_synthetic(conn, cfg_));
}

}  // namespace pier::handlers
