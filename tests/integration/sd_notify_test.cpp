// pierd under systemd's readiness protocol, with the test as systemd: it binds the
// $NOTIFY_SOCKET datagram socket and reads what the real pierd binary sends.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <regex>

#include <doctest/doctest.h>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "support/child_process.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

using clock = std::chrono::steady_clock;
const std::string pierd = PIERD_PATH;

/// The systemd side of sd_notify: a bound AF_UNIX datagram socket.
class notify_socket {
public:
    explicit notify_socket(const std::filesystem::path& path) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        REQUIRE(path.string().size() < sizeof(address.sun_path));
        std::strcpy(address.sun_path, path.c_str());
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    }
    ~notify_socket() { ::close(fd_); }
    notify_socket(const notify_socket&) = delete;
    notify_socket& operator=(const notify_socket&) = delete;

    /// The next datagram, or nullopt once `deadline` passes.
    std::optional<std::string> receive(clock::time_point deadline) {
        for (;;) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char buffer[4096];
            const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n > 0) return std::string(buffer, static_cast<std::size_t>(n));
        }
    }

    /// Reads datagrams until one starting with `prefix`; nullopt at the deadline.
    std::optional<std::string> wait_for(const std::string& prefix, clock::time_point deadline) {
        while (auto message = receive(deadline)) {
            if (message->rfind(prefix, 0) == 0) return message;
        }
        return std::nullopt;
    }

    const std::filesystem::path& path() const { return path_; }

    /// Sends datagrams to the socket itself until its queue is full (EAGAIN): every send to
    /// it then fails at once, as when systemd falls behind reading it.
    void fill_queue() {
        const int sender = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(sender >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strcpy(address.sun_path, path_.c_str());
        const char filler[] = "X_FILLER=1";
        while (::sendto(sender, filler, sizeof filler - 1, MSG_DONTWAIT,
                        reinterpret_cast<sockaddr*>(&address), sizeof address) > 0) {
        }
        CHECK(errno == EAGAIN);
        ::close(sender);
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
};

/// Sets the variables systemd would for the next child started, and clears them afterwards.
class systemd_environment {
public:
    systemd_environment(const notify_socket& socket, std::chrono::microseconds watchdog) {
        ::setenv("NOTIFY_SOCKET", socket.path().c_str(), 1);
        ::setenv("WATCHDOG_USEC", std::to_string(watchdog.count()).c_str(), 1);
        ::unsetenv("WATCHDOG_PID");
    }
    ~systemd_environment() {
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
    }
    systemd_environment(const systemd_environment&) = delete;
    systemd_environment& operator=(const systemd_environment&) = delete;
};

/// pierd on `yaml`, started with the environment systemd gives a Type=notify service with a
/// `watchdog` interval (pierd pings four times per interval: every 50 ms by default).
child_process start_under_systemd(
    const temp_dir& dir, const notify_socket& systemd, const std::string& yaml,
    std::chrono::microseconds watchdog = std::chrono::milliseconds(200)) {
    const auto config = dir.write("pier.yaml", yaml);
    systemd_environment env(systemd, watchdog);
    return child_process(pierd, pierd_serve_args(config));
}

// Proves the lifecycle messages: READY=1 with MAINPID and STATUS once listening, WATCHDOG=1
// pings while the workers answer, STOPPING=1 when SIGTERM starts the drain, then exit 0.
TEST_CASE("pierd: sd_notify READY=1, WATCHDOG=1 pings, STOPPING=1 on SIGTERM") {
    temp_dir dir;
    notify_socket systemd(dir.path() / "notify.sock");
    auto child = start_under_systemd(dir, systemd,
                                     "runtime:\n  threads: 2\nlisteners:\n  - name: echo\n"
                                     "    listen: \"127.0.0.1:0\"\n");
    const auto deadline = clock::now() + std::chrono::seconds(20);
    const auto ready = systemd.receive(deadline);
    REQUIRE_MESSAGE(ready.has_value(), child.output());
    CHECK(ready->rfind("READY=1\n", 0) == 0);
    CHECK(ready->find("MAINPID=") != std::string::npos);
    CHECK(ready->find("STATUS=serving") != std::string::npos);
    for (int i = 0; i < 3; ++i) {
        CHECK(systemd.wait_for("WATCHDOG=1", deadline) == std::optional<std::string>("WATCHDOG=1"));
    }

    child.send_signal(SIGTERM);
    const auto stopping = systemd.wait_for("STOPPING=1", deadline);
    REQUIRE(stopping.has_value());
    CHECK(stopping->find("STATUS=draining") != std::string::npos);
    const auto code = child.wait_exit(std::chrono::seconds(20));
    CHECK_MESSAGE(code == std::optional<int>(0), child.output());
}

// Proves pierd never blocks on the notify socket: with its queue full (as when nobody reads
// it: net.unix.max_dgram_qlen is 10 by default), SIGTERM still ends pierd promptly; the lost
// STOPPING=1 is reported in the log.
TEST_CASE("pierd: a notify socket nobody reads does not block pierd") {
    temp_dir dir;
    notify_socket systemd(dir.path() / "notify.sock");
    auto child = start_under_systemd(dir, systemd,
                                     "listeners:\n  - name: echo\n    listen: \"127.0.0.1:0\"\n");
    REQUIRE(systemd.wait_for("READY=1", clock::now() + std::chrono::seconds(20)).has_value());
    systemd.fill_queue();  // as if nobody had read it for a while
    const auto began = clock::now();
    child.send_signal(SIGTERM);
    const auto code = child.wait_exit(std::chrono::seconds(20));
    CHECK_MESSAGE(code == std::optional<int>(0), child.output());
    CHECK(clock::now() - began < std::chrono::seconds(10));
    CHECK(child.output().find("STOPPING=1 could not be sent") != std::string::npos);
}

// Proves a stuck worker stops the pings: while a worker spends a second in one request, no
// WATCHDOG=1 arrives (the other worker, free, does not make up for it), and the pings resume
// once it is done.
TEST_CASE("pierd: a worker stuck in a long request stops the watchdog pings") {
    temp_dir dir;
    notify_socket systemd(dir.path() / "notify.sock");
    auto child = start_under_systemd(dir, systemd,
                                     "runtime:\n  threads: 2\nlisteners:\n  - name: synthetic\n"
                                     "    listen: \"127.0.0.1:0\"\n    handler: synthetic\n");
    const auto listening = child.wait_for_line("listening", std::chrono::seconds(20));
    REQUIRE_MESSAGE(listening.has_value(), child.output());
    const auto deadline = clock::now() + std::chrono::seconds(30);
    REQUIRE(systemd.wait_for("WATCHDOG=1", deadline).has_value());

    asio::io_context io;
    const auto endpoint = endpoint_from_log(*listening);
    tcp::socket socket(io);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            socket = co_await connect_to(endpoint);
            const std::string request = "cpu=1500ms\n";
            co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
        },
        20s);

    // Pings as they arrive for 2.5 s: a beat the worker ran before it got stuck may still be
    // reported; after that, none until the request is done.
    const auto sent = clock::now();
    auto last_ping = sent;
    auto longest_gap = clock::duration::zero();
    while (clock::now() - sent < std::chrono::milliseconds(2500)) {
        const auto ping = systemd.wait_for("WATCHDOG=1", sent + std::chrono::milliseconds(2500));
        const auto now = clock::now();
        longest_gap = std::max(longest_gap, now - last_ping);
        if (!ping) break;
        last_ping = now;
    }
    CAPTURE(std::chrono::duration_cast<std::chrono::milliseconds>(longest_gap).count());
    CHECK(longest_gap >= std::chrono::milliseconds(800));

    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            std::string line;
            co_await asio::async_read_until(socket, asio::dynamic_buffer(line), '\n',
                                            asio::use_awaitable);
            CHECK(line == "OK\n");
        },
        20s);
    CHECK(systemd.wait_for("WATCHDOG=1", clock::now() + std::chrono::seconds(10)).has_value());
    child.send_signal(SIGTERM);
    const auto code = child.wait_exit(std::chrono::seconds(20));
    CHECK_MESSAGE(code == std::optional<int>(0), child.output());
}

// Proves the reload messages systemd's ExecReload relies on: SIGHUP brings RELOADING=1 (with
// MONOTONIC_USEC) and then READY=1, for a reload that applies and for one that fails (the old
// config serves on, so pierd is ready again either way).
TEST_CASE("pierd: sd_notify RELOADING=1 then READY=1 around each SIGHUP") {
    temp_dir dir;
    notify_socket systemd(dir.path() / "notify.sock");
    const std::string yaml = "listeners:\n  - name: echo\n    listen: \"127.0.0.1:0\"\n";
    auto child = start_under_systemd(dir, systemd, yaml);
    const auto deadline = clock::now() + std::chrono::seconds(30);
    REQUIRE_MESSAGE(systemd.wait_for("READY=1", deadline).has_value(), child.output());

    dir.write("pier.yaml", yaml + "    idle_timeout: 1m\n");
    child.send_signal(SIGHUP);
    const auto reloading = systemd.wait_for("RELOADING=1", deadline);
    REQUIRE_MESSAGE(reloading.has_value(), child.output());
    CHECK(std::regex_search(*reloading, std::regex("\nMONOTONIC_USEC=[0-9]+\n")));
    const auto ready = systemd.wait_for("READY=1", deadline);
    REQUIRE(ready.has_value());
    CHECK(ready->find("STATUS=serving") != std::string::npos);

    dir.write("pier.yaml", "listeners: [\n");
    child.send_signal(SIGHUP);
    REQUIRE(systemd.wait_for("RELOADING=1", deadline).has_value());
    const auto ready_again = systemd.wait_for("READY=1", deadline);
    REQUIRE(ready_again.has_value());
    CHECK(ready_again->find("last reload failed") != std::string::npos);

    child.send_signal(SIGTERM);
    CHECK(systemd.wait_for("STOPPING=1", deadline).has_value());
    CHECK_MESSAGE(child.wait_exit(std::chrono::seconds(20)) == std::optional<int>(0),
                  child.output());
}

// Proves the pings do not depend on how often signals arrive: with a SIGHUP (a reload of the
// unchanged file) every 100 ms, more often than the 250 ms ping period of a 1 s watchdog, for
// three watchdog intervals, WATCHDOG=1 keeps coming, never more than half the interval apart.
// (Were the wait for a signal restarted after each one, no ping would come at all.)
TEST_CASE("pierd: SIGHUPs more frequent than the pings do not delay the watchdog") {
    using std::chrono::milliseconds;
    temp_dir dir;
    notify_socket systemd(dir.path() / "notify.sock");
    const milliseconds watchdog(1000);
    auto child = start_under_systemd(
        dir, systemd, "listeners:\n  - name: echo\n    listen: \"127.0.0.1:0\"\n", watchdog);
    const auto deadline = clock::now() + std::chrono::seconds(20);
    REQUIRE_MESSAGE(systemd.wait_for("READY=1", deadline).has_value(), child.output());
    REQUIRE(systemd.wait_for("WATCHDOG=1", deadline).has_value());

    // The signals are load on a timer; what is checked is the pings received meanwhile.
    const auto began = clock::now();
    const auto ended = began + 3 * watchdog;
    auto next_signal = began;
    auto last_ping = began;
    auto longest_gap = clock::duration::zero();
    int signals = 0;
    int reloads = 0;
    int pings = 0;
    while (clock::now() < ended) {
        if (clock::now() >= next_signal) {
            child.send_signal(SIGHUP);
            ++signals;
            next_signal += milliseconds(100);
        }
        const auto message = systemd.receive(std::min(next_signal, ended));
        if (!message) continue;
        if (message->rfind("RELOADING=1", 0) == 0) ++reloads;
        if (*message != "WATCHDOG=1") continue;
        const auto now = clock::now();
        longest_gap = std::max(longest_gap, now - last_ping);
        last_ping = now;
        ++pings;
    }
    longest_gap = std::max(longest_gap, ended - last_ping);  // a silence at the end counts too
    CAPTURE(std::chrono::duration_cast<milliseconds>(longest_gap).count());
    CAPTURE(signals);
    CAPTURE(reloads);
    CAPTURE(pings);
    CHECK(reloads >= 10);  // the signals did arrive and were acted on
    CHECK(longest_gap <= watchdog / 2);

    child.send_signal(SIGTERM);
    CHECK(systemd.wait_for("STOPPING=1", deadline).has_value());
    CHECK_MESSAGE(child.wait_exit(std::chrono::seconds(20)) == std::optional<int>(0),
                  child.output());
}

}  // namespace
}  // namespace pier::test
