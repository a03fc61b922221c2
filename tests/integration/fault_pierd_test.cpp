// Fault injection against the real pierd binary: signals at the worst moment. Clients stream
// on threads of their own while the test signals the daemon; what must hold: a storm of
// reloads loses no connection and no byte, and SIGTERM under load echoes every byte a client
// had sent before the drain began, then closes cleanly, and the daemon exits 0.
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <unistd.h>

#include "support/child_process.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

const std::string pierd = PIERD_PATH;
constexpr auto line_timeout = std::chrono::seconds(20);

std::string echo_yaml(const std::string& idle_timeout) {
    return "runtime:\n  threads: 2\nshutdown:\n  drain_timeout: 10s\nlisteners:\n"
           "  - name: echo\n    listen: \"127.0.0.1:0\"\n    handler: echo\n"
           "    idle_timeout: " +
           idle_timeout + "\n";
}

/// The echo listener's address, once `child` (pierd on echo_yaml) has logged it and is ready.
tcp::endpoint echo_endpoint_once_ready(child_process& child) {
    const auto listening = child.wait_for_line("listening listener=echo", line_timeout);
    REQUIRE_MESSAGE(listening.has_value(), child.output());
    REQUIRE(child.wait_for_line("ready", line_timeout).has_value());
    return endpoint_from_log(*listening);
}

/// Counts down to zero; waits for that with a bound.
class countdown {
public:
    explicit countdown(unsigned n) : left_(n) {}
    void arrive() {
        const std::lock_guard lock(mutex_);
        if (left_ > 0 && --left_ == 0) done_.notify_all();
    }
    bool wait(std::chrono::seconds timeout) {
        std::unique_lock lock(mutex_);
        return done_.wait_for(lock, timeout, [&] { return left_ == 0; });
    }

private:
    std::mutex mutex_;
    std::condition_variable done_;
    unsigned left_;
};

/// Client threads of a test, joined on the way out whatever happens: a failed REQUIRE on the
/// test's thread would otherwise destroy a joinable std::thread (std::terminate, pierd left
/// running). A thread's own failure (a REQUIRE, run_with_timeout's deadline) is recorded by
/// doctest where it happens and reported here as failed().
class client_threads {
public:
    explicit client_threads(std::function<void()> stop) : stop_(std::move(stop)) {}
    ~client_threads() { join(); }
    client_threads(const client_threads&) = delete;
    client_threads& operator=(const client_threads&) = delete;

    void spawn(std::function<void()> body) {
        threads_.emplace_back([this, body = std::move(body)] {
            try {
                body();
            } catch (...) {
                failed_ = true;
            }
        });
    }
    /// Asks the clients to stop, then waits for them.
    void join() {
        stop_();
        for (auto& t : threads_) {
            if (t.joinable()) t.join();
        }
    }
    bool failed() const { return failed_; }

private:
    std::function<void()> stop_;
    std::vector<std::thread> threads_;
    std::atomic<bool> failed_{false};
};

/// Replaces the file in one step (rename), so a reload never reads it half-written.
void replace_file(temp_dir& dir, const std::string& name, const std::string& content) {
    const auto staged = dir.write(name + ".new", content);
    std::filesystem::rename(staged, staged.parent_path() / name);
}

// Proves 100 reloads (each one changing the listener's idle_timeout, so each reconfigures it)
// while four clients stream echoes lose no connection and no byte: every echo matches, and
// each client's last round, after the storm and a burst of unpaced SIGHUPs, is answered.
TEST_CASE("faults: 100 SIGHUP reloads under load lose no connection") {
    temp_dir dir;
    const auto config = dir.write("pier.yaml", echo_yaml("30s"));
    child_process child(pierd, pierd_serve_args(config));
    const auto echo = echo_endpoint_once_ready(child);

    std::atomic<bool> streaming{true};
    std::atomic<unsigned> rounds{0};
    countdown connected(1);
    client_threads clients([&] { streaming = false; });
    clients.spawn([&] {
        with_clients(
            echo, 4,
            [&](std::vector<tcp::socket>& sockets) -> asio::awaitable<void> {
                connected.arrive();
                unsigned round = 0;
                while (streaming) {
                    for (unsigned i = 0; i < sockets.size(); ++i) {
                        const auto payload = make_payload(1000 + (round % 50) * 100, round * 4 + i);
                        REQUIRE(co_await echo_exchange(sockets[i], payload) == payload);
                    }
                    rounds = ++round;
                }
                for (unsigned i = 0; i < sockets.size(); ++i) {
                    const auto payload = make_payload(5000, 100000 + i);
                    CHECK(co_await echo_exchange(sockets[i], payload) == payload);
                }
            },
            100s);
    });
    REQUIRE(connected.wait(std::chrono::seconds(30)));
    for (unsigned i = 0; i < 100; ++i) {
        replace_file(dir, "pier.yaml", echo_yaml(i % 2 == 0 ? "20s" : "30s"));
        child.send_signal(SIGHUP);
        const auto done = child.wait_for_line("reload complete", line_timeout);
        REQUIRE_MESSAGE(done.has_value(), child.output());
    }
    const auto rounds_during_storm = rounds.load();
    // A burst, unpaced (the kernel may merge some signals), then one more change: the streams
    // stop only once that change has applied, so they ran through the whole burst.
    for (unsigned i = 0; i < 20; ++i) child.send_signal(SIGHUP);
    replace_file(dir, "pier.yaml", echo_yaml("10s"));
    child.send_signal(SIGHUP);
    const auto last = child.wait_for_line("idle_timeout: 30s -> 10s", line_timeout);
    clients.join();
    CHECK_MESSAGE(last.has_value(), child.output());
    CHECK_FALSE(clients.failed());
    CHECK(rounds_during_storm > 0);
    child.send_signal(SIGTERM);
    CHECK(child.wait_exit(line_timeout) == std::optional<int>(0));
    CHECK(child.output().find("reload failed") == std::string::npos);
}

/// One streaming client of the SIGTERM test: what it has written (whole chunks whose write
/// completed), and what came back.
struct streamer {
    std::atomic<std::uint64_t> written{0};
    std::uint64_t echoed = 0;
    bool exact = false;
};

asio::awaitable<void> stream_until_told(const tcp::endpoint& echo, unsigned id, streamer& me,
                                        const std::atomic<bool>& stop, countdown& warm) {
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
    auto socket = co_await connect_to(echo);
    std::string sent;
    std::string received;
    bool ended = false;
    for (unsigned round = 0; !stop && !ended; ++round) {
        const auto chunk = make_payload(4096, round * 64 + id);
        auto [write_ec, written] =
            co_await asio::async_write(socket, asio::buffer(chunk), use_tuple);
        sent.append(chunk, 0, written);
        if (write_ec) break;
        me.written += written;
        std::string back(chunk.size(), '\0');
        auto [read_ec, n] = co_await asio::async_read(socket, asio::buffer(back), use_tuple);
        received.append(back, 0, n);
        ended = static_cast<bool>(read_ec);
        if (round == 10) warm.arrive();
    }
    if (!ended) {
        // Told to stop: no more bytes from us; the server echoes what it has, then closes.
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_send, ignored);
        boost::system::error_code error;
        received += co_await read_to_end(socket, error);
    }
    me.echoed = received.size();
    me.exact = sent.compare(0, received.size(), received) == 0;
}

// Proves SIGTERM under load: eight clients stream 4KiB echoes, on into the drain; the bytes
// each had written when the signal was sent all come back, in order, before its connection
// closes (what it sent after may come back too: only ever an exact prefix), and the daemon
// drains and exits 0.
TEST_CASE("faults: SIGTERM under load echoes every byte sent before the drain") {
    temp_dir dir;
    const auto config = dir.write("pier.yaml", echo_yaml("30s"));
    child_process child(pierd, pierd_serve_args(config));
    const auto echo = echo_endpoint_once_ready(child);

    constexpr unsigned clients = 8;
    std::vector<streamer> streams(clients);
    std::atomic<bool> stop{false};
    countdown warm(clients);
    client_threads threads([&] { stop = true; });
    for (unsigned id = 0; id < clients; ++id) {
        threads.spawn([&, id] {
            run_with_timeout([&]() { return stream_until_told(echo, id, streams[id], stop, warm); },
                             60s);
        });
    }
    const bool all_warm = warm.wait(std::chrono::seconds(30));
    std::vector<std::uint64_t> written_before(clients);
    for (unsigned id = 0; id < clients; ++id) written_before[id] = streams[id].written.load();
    child.send_signal(SIGTERM);
    // The clients go on streaming into the drain, then stop: bytes are in flight as it starts.
    const bool draining = child.wait_for_line("shutdown: draining", line_timeout).has_value();
    threads.join();
    REQUIRE(all_warm);
    CHECK(draining);
    CHECK_FALSE(threads.failed());
    for (unsigned id = 0; id < clients; ++id) {
        CAPTURE(id);
        CHECK(streams[id].exact);
        CHECK(streams[id].echoed >= written_before[id]);
    }
    CHECK(child.wait_exit(line_timeout) == std::optional<int>(0));
    CHECK(child.output().find("shutdown: complete") != std::string::npos);
}

/// User and system CPU seconds `pid` has used (all its threads).
double cpu_seconds(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// Sends one byte and waits up to `patience` for its echo: whether the server answered.
asio::awaitable<bool> answered_within(tcp::socket& socket, std::chrono::milliseconds patience) {
    using namespace asio::experimental::awaitable_operators;
    co_await write_all(socket, "x");
    char back = 0;
    asio::steady_timer timer(co_await asio::this_coro::executor, patience);
    const auto outcome = co_await (
        asio::async_read(socket, asio::buffer(&back, 1), asio::as_tuple(asio::use_awaitable)) ||
        timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    co_return outcome.index() == 0 && !std::get<0>(std::get<0>(outcome)) && back == 'x';
}

// Proves descriptor exhaustion on the real binary, run with RLIMIT_NOFILE of 48: clients are
// served until descriptors run out; the next one waits (the accept loop backs off: pierd uses
// under half a core meanwhile instead of spinning), is served once one client leaves (at the
// accept loop's next try, within its backoff of at most 1 s),
// and pierd stays up and exits 0.
TEST_CASE("faults: descriptor exhaustion in pierd: no busy loop, recovery, no crash") {
    temp_dir dir;
    const auto config = dir.write("pier.yaml", echo_yaml("30s"));
    child_process child(pierd, pierd_serve_args(config), std::nullopt, 48);
    const auto echo = echo_endpoint_once_ready(child);

    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            std::vector<tcp::socket> served;
            std::optional<tcp::socket> waiting;
            double cpu_while_exhausted = 0;
            // At most 48 descriptors in all: the 49th client cannot be served.
            for (unsigned i = 0; i < 49 && !waiting; ++i) {
                auto client = co_await connect_to(echo);
                const double before = cpu_seconds(child.pid());
                if (co_await answered_within(client, 2s)) {
                    served.push_back(std::move(client));
                } else {
                    cpu_while_exhausted = cpu_seconds(child.pid()) - before;
                    waiting = std::move(client);
                }
            }
            REQUIRE_MESSAGE(waiting.has_value(), "never ran out of descriptors");
            CHECK(served.size() >= 20);
            CHECK(cpu_while_exhausted < 1.0);  // of the 2s waited: a busy loop would use it all
            // One client leaves: the waiting one is admitted and gets its echo.
            served.front().close();
            char back = 0;
            co_await asio::async_read(*waiting, asio::buffer(&back, 1), asio::use_awaitable);
            CHECK(back == 'x');
            for (auto& client : served) {
                if (client.is_open()) CHECK(co_await answered_within(client, 10s));
            }
        },
        60s);
    CHECK(child.wait_for_line("accept failed", line_timeout).has_value());
    child.send_signal(SIGTERM);
    CHECK(child.wait_exit(line_timeout) == std::optional<int>(0));
}

}  // namespace
}  // namespace pier::test
