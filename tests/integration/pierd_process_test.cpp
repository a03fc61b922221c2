// The real pierd binary: start-up from a config file, echo, SIGTERM, exit codes, and the
// messages an operator sees for a broken config or a port already in use.
#include <csignal>
#include <cstdlib>
#include <regex>

#include <poll.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <boost/asio/ip/tcp.hpp>

#include "pier/net/edge_reader.hpp"
#include "support/child_process.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

const std::string pierd = PIERD_PATH;
constexpr auto start_timeout = std::chrono::seconds(20);

std::string echo_yaml(std::uint16_t port, const std::string& extra = "") {
    return "runtime:\n  threads: 2\nshutdown:\n  drain_timeout: 2s\nlisteners:\n"
           "  - name: echo\n    listen: \"127.0.0.1:" +
           std::to_string(port) + "\"\n    handler: echo\n" + extra;
}

// Proves the daemon end to end: it starts from a YAML file, logs the port it bound, echoes,
// and on SIGTERM drains, logs each shutdown step and exits 0.
TEST_CASE("pierd: serves echo from a config file and exits 0 on SIGTERM") {
    temp_dir dir;
    const auto config = dir.write("pier.yaml", echo_yaml(0));
    child_process child(pierd, pierd_serve_args(config));
    const auto listening = child.wait_for_line("listening", start_timeout);
    REQUIRE_MESSAGE(listening.has_value(), child.output());
    REQUIRE(child.wait_for_line("ready", start_timeout).has_value());
    const auto endpoint = endpoint_from_log(*listening);

    with_client(
        endpoint,
        [&](tcp::socket& socket) -> asio::awaitable<void> {
            const auto payload = make_payload(100000);
            CHECK(co_await echo_exchange(socket, payload) == payload);
        },
        10s);

    child.send_signal(SIGTERM);
    const auto code = child.wait_exit(std::chrono::seconds(20));
    REQUIRE_MESSAGE(code.has_value(), child.output());
    CHECK(*code == 0);
    CHECK(child.output().find("shutdown: stop accepting") != std::string::npos);
    CHECK(child.output().find("shutdown: complete") != std::string::npos);
}

// Proves a second SIGTERM ends a drain that would otherwise last its whole drain_timeout: a
// client that sends without reading keeps its echo connection from finishing. Before, the
// second signal was ignored and pierd exited only at the drain timeout (60 s here).
TEST_CASE("pierd: a second SIGTERM cuts the drain short") {
    temp_dir dir;
    const auto config =
        dir.write("pier.yaml",
                  "runtime:\n  threads: 2\nshutdown:\n  drain_timeout: 60s\nlisteners:\n"
                  "  - name: echo\n    listen: \"127.0.0.1:0\"\n    handler: echo\n"
                  "    write_timeout: 60s\n");
    child_process child(pierd, pierd_serve_args(config));
    const auto listening = child.wait_for_line("listening", start_timeout);
    REQUIRE_MESSAGE(listening.has_value(), child.output());
    REQUIRE(child.wait_for_line("ready", start_timeout).has_value());

    // Fill both directions' buffers: pierd's echo then waits to write, and stops reading.
    asio::io_context io;
    tcp::socket stuck(io);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            stuck = co_await connect_to(endpoint_from_log(*listening));
        },
        10s);
    stuck.non_blocking(true);
    const std::string chunk(64 * 1024, 'x');
    std::size_t sent = 0;
    boost::system::error_code ec;
    const auto fill_deadline = std::chrono::steady_clock::now() + 20s;
    bool full = false;
    while (!full && std::chrono::steady_clock::now() < fill_deadline) {
        sent += stuck.write_some(asio::buffer(chunk), ec);
        if (ec == asio::error::would_block) {
            // Full for now; full for good once pierd has taken nothing for half a second.
            pollfd writable{stuck.native_handle(), POLLOUT, 0};
            full = ::poll(&writable, 1, 500) == 0;
        } else {
            REQUIRE_MESSAGE(!ec, ec.message());
        }
    }
    REQUIRE(full);

    child.send_signal(SIGTERM);
    REQUIRE(child.wait_for_line("shutdown: draining connections=1", start_timeout).has_value());
    child.send_signal(SIGTERM);
    const auto code = child.wait_exit(std::chrono::seconds(20));
    REQUIRE_MESSAGE(code.has_value(), child.output());
    CHECK(*code == 0);
    CHECK(child.output().find("shutdown: drain cut short by a second signal, cancelling "
                              "connections=1") != std::string::npos);
}

// Proves --check-config reports every error with file:line:col and key, and exits 78.
TEST_CASE("pierd: --check-config on a broken file prints positioned errors and exits 78") {
    temp_dir dir;
    const auto config = dir.write("broken.yaml",
                                  "runtime:\n  threads: many\nlisteners:\n"
                                  "  - name: echo\n    listen: \"127.0.0.1:0\"\n"
                                  "    idle_timout: 5m\n");
    child_process child(pierd, {"--check-config", "--config", config.string()});
    const auto code = child.wait_exit(std::chrono::seconds(20));
    REQUIRE(code.has_value());
    CHECK(*code == 78);
    const auto& out = child.output();
    CHECK(out.find(config.string() + ":2:12: runtime.threads:") != std::string::npos);
    CHECK(out.find(config.string() + ":6:5: listeners[0].idle_timout: unknown key") !=
          std::string::npos);
    CHECK(out.find("idle_timeout") != std::string::npos);  // the did-you-mean
    CHECK(out.find("2 errors") != std::string::npos);
}

// Proves --check-config prints the first 100 errors and counts the rest: before, a key repeated
// 100,000 times printed 100,001 lines.
TEST_CASE("pierd: --check-config prints at most 100 errors and counts the rest") {
    temp_dir dir;
    std::string yaml = echo_yaml(0);
    for (int i = 0; i < 150; ++i) yaml += "unknown_" + std::to_string(i) + ": 1\n";
    const auto config = dir.write("many.yaml", yaml);
    child_process child(pierd, {"--check-config", "--config", config.string()});
    REQUIRE(child.wait_exit(std::chrono::seconds(20)) == std::optional<int>(78));
    const auto& out = child.output();
    std::size_t shown = 0;
    for (std::size_t at = out.find(": unknown key"); at != std::string::npos;
         at = out.find(": unknown key", at + 1)) {
        ++shown;
    }
    CHECK(shown == 100);
    CHECK(out.find("... and 50 more errors, not shown") != std::string::npos);
    CHECK(out.find(config.string() + ": 150 errors") != std::string::npos);
}

// Proves a config whose buffers could outgrow any machine passes --check-config (exit 0) with
// a warning that shows the arithmetic: 10 million proxied connections x 2 x 64MiB is 1.2PiB.
TEST_CASE("pierd: --check-config warns when buffers times connections exceed memory") {
    temp_dir dir;
    const auto config =
        dir.write("huge.yaml",
                  "listeners:\n  - name: front\n    listen: \"127.0.0.1:0\"\n    handler: proxy\n"
                  "    max_connections: 10000000\n"
                  "    proxy: { upstreams: [\"127.0.0.1:1\"], max_buffer: 64MiB }\n");
    child_process child(pierd, {"--check-config", "--config", config.string()});
    CHECK(child.wait_exit(start_timeout) == std::optional<int>(0));
    const auto& out = child.output();
    CHECK_MESSAGE(out.find(config.string() + ": ok (1 listener)") != std::string::npos, out);
    CHECK(out.find(config.string() + ": warning: connection buffers may hold up to 1.2PiB") !=
          std::string::npos);
    CHECK(out.find("max_connections 10000000 x 2 x max_buffer 64MiB") != std::string::npos);
}

// Proves --check-config accepts a valid file with exit 0, and the bundled default is valid.
TEST_CASE("pierd: --check-config accepts a valid file") {
    for (const std::string& file :
         {std::string(PIER_SOURCE_DIR) + "/config/pier.yaml", std::string()}) {
        temp_dir dir;
        const auto path = file.empty() ? dir.write("ok.yaml", echo_yaml(0)).string() : file;
        CAPTURE(path);
        child_process child(pierd, {"--check-config", "--config", path});
        const auto code = child.wait_exit(std::chrono::seconds(20));
        REQUIRE(code.has_value());
        CHECK(*code == 0);
        CHECK(child.output().find(": ok") != std::string::npos);
    }
}

// Proves a port already in use is one clear line naming the listener and address, exit 1.
TEST_CASE("pierd: a port already in use fails with one clear line and exit 1") {
    asio::io_context io;
    tcp::acceptor occupant(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = occupant.local_endpoint().port();
    temp_dir dir;
    const auto config = dir.write("pier.yaml", echo_yaml(port));
    child_process child(pierd, pierd_serve_args(config));
    const auto code = child.wait_exit(std::chrono::seconds(20));
    REQUIRE(code.has_value());
    CHECK(*code == 1);
    const std::string expected =
        "listener \"echo\": cannot bind 127.0.0.1:" + std::to_string(port) +
        ": Address already in use";
    CHECK_MESSAGE(child.output().find(expected) != std::string::npos, child.output());
}

// Proves the root check: as root, pierd refuses to serve without --allow-root (exit 64, with
// a message naming the ways out) while --check-config still works; as another user nothing is
// refused. CI runs the suite as root, so there the refusal itself is what runs.
TEST_CASE("pierd: refuses to serve as root without --allow-root") {
    temp_dir dir;
    const auto config = dir.write("pier.yaml", echo_yaml(0));
    child_process check(pierd, {"--check-config", "--config", config.string()});
    CHECK(check.wait_exit(start_timeout) == std::optional<int>(0));
    child_process child(pierd, {"--config", config.string()});
    if (::geteuid() == 0) {
        const auto code = child.wait_exit(start_timeout);
        REQUIRE_MESSAGE(code.has_value(), child.output());
        CHECK(*code == 64);
        CHECK_MESSAGE(child.output().find("refusing to run as root") != std::string::npos,
                      child.output());
        CHECK(child.output().find("--allow-root") != std::string::npos);
        CHECK(child.output().find("listening") == std::string::npos);
    } else {
        CHECK_MESSAGE(child.wait_for_line("ready", start_timeout).has_value(), child.output());
        child.send_signal(SIGTERM);
        CHECK(child.wait_exit(start_timeout) == std::optional<int>(0));
    }
}

// Proves the CLI's own exits: --version and --help succeed, an unknown option is a usage error.
TEST_CASE("pierd: --version, --help and a bad option") {
    SUBCASE("--version") {
        child_process child(pierd, {"--version"});
        CHECK(child.wait_exit(std::chrono::seconds(20)) == 0);
        CHECK(child.output().find("pierd 0.") == 0);
        // The build's facts, for bug reports: which Asio, and which edge_reader path.
        const std::string path = net::edge_reader::on_reactor ? "reactor" : "portable";
        CHECK(child.output().find(", edge_reader: " + path + " path)") != std::string::npos);
    }
    SUBCASE("--help") {
        child_process child(pierd, {"--help"});
        CHECK(child.wait_exit(std::chrono::seconds(20)) == 0);
        CHECK(child.output().find("--check-config") != std::string::npos);
    }
    SUBCASE("unknown option") {
        child_process child(pierd, {"--no-such-option"});
        CHECK(child.wait_exit(std::chrono::seconds(20)) == 64);
        CHECK(child.output().find("no-such-option") != std::string::npos);
    }
    SUBCASE("missing config file") {
        child_process child(pierd, {"--config", "/nonexistent/pier.yaml"});
        CHECK(child.wait_exit(std::chrono::seconds(20)) == 78);
        CHECK(child.output().find("/nonexistent/pier.yaml") != std::string::npos);
    }
}

// Proves --probe, the Docker health check: exit 0 on the admin endpoint's /readyz, 1 on a 404,
// 1 when the peer never answers (bounded by --probe-timeout), 64 on a malformed URL.
TEST_CASE("pierd: --probe reports the admin endpoint's answer in its exit code") {
    temp_dir dir;
    const auto config =
        dir.write("pier.yaml", echo_yaml(0) + "admin:\n  listen: \"127.0.0.1:0\"\n");
    child_process server(pierd, pierd_serve_args(config));
    const auto admin_line = server.wait_for_line("admin listening", start_timeout);
    REQUIRE_MESSAGE(admin_line.has_value(), server.output());
    REQUIRE(server.wait_for_line("ready", start_timeout).has_value());
    const auto base = "http://127.0.0.1:" + std::to_string(endpoint_from_log(*admin_line).port());

    const auto probe = [](const std::vector<std::string>& args) {
        child_process p(pierd, args);
        const auto code = p.wait_exit(std::chrono::seconds(20));
        REQUIRE_MESSAGE(code.has_value(), p.output());
        return std::pair(*code, p.output());
    };
    const auto [ready_code, ready_out] = probe({"--probe", base + "/readyz"});
    CHECK(ready_code == 0);
    CHECK(ready_out.find("200 OK") != std::string::npos);
    const auto [missing_code, missing_out] = probe({"--probe", base + "/nope"});
    CHECK(missing_code == 1);
    CHECK(missing_out.find("404") != std::string::npos);
    CHECK(probe({"--probe", "ftp://127.0.0.1/"}).first == 64);

    // A listener that accepts and never answers: the probe gives up after its timeout.
    asio::io_context io;
    tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto began = std::chrono::steady_clock::now();
    const auto [silent_code, silent_out] =
        probe({"--probe", "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()),
               "--probe-timeout", "300ms"});
    CHECK(silent_code == 1);
    CHECK(silent_out.find("timeout") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - began < std::chrono::seconds(10));

    server.send_signal(SIGTERM);
    CHECK(server.wait_exit(std::chrono::seconds(20)) == std::optional<int>(0));
}

// Proves journald-friendly logs: with JOURNAL_STREAM set (systemd sets it when stderr is the
// journal), each line starts with its syslog priority ("<6>" info, "<4>" warning) and carries
// no timestamp of its own (journald adds one).
TEST_CASE("pierd: under journald, log lines carry syslog priorities and no timestamp") {
    temp_dir dir;
    const auto config = dir.write("pier.yaml", echo_yaml(0));
    ::setenv("JOURNAL_STREAM", "8:12345", 1);
    child_process child(pierd, pierd_serve_args(config));
    ::unsetenv("JOURNAL_STREAM");
    const auto listening = child.wait_for_line("listening", start_timeout);
    REQUIRE_MESSAGE(listening.has_value(), child.output());
    CHECK(listening->rfind("<6>listening listener=echo", 0) == 0);
    REQUIRE(child.wait_for_line("ready", start_timeout).has_value());
    // A warning: a reload asking for more threads is told it needs a restart.
    auto more_threads = echo_yaml(0);
    more_threads.replace(more_threads.find("threads: 2"), 10, "threads: 3");
    dir.write("pier.yaml", more_threads);
    child.send_signal(SIGHUP);
    const auto warning = child.wait_for_line("needs a restart", start_timeout);
    REQUIRE_MESSAGE(warning.has_value(), child.output());
    CHECK(warning->rfind("<4>reload: needs a restart to apply runtime.threads: 2 -> 3", 0) == 0);
    child.send_signal(SIGTERM);
    CHECK(child.wait_exit(std::chrono::seconds(20)) == std::optional<int>(0));
    CHECK_FALSE(std::regex_search(child.output(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d)")));
}

// Proves socket activation: pierd adopts the listening socket systemd passes (fd 3) instead
// of binding, matched by name (FileDescriptorName= equal to the listener's name) or, failing
// that, by address; clients connected to that socket are served.
TEST_CASE("pierd: adopts a socket-activated listener by name or by address") {
    asio::io_context io;
    tcp::acceptor passed(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = passed.local_endpoint().port();
    temp_dir dir;
    std::string yaml;
    std::string name;
    SUBCASE("by name") {
        yaml = echo_yaml(0);  // port 0: only the name can match
        name = "echo";
    }
    SUBCASE("by address") {
        yaml = echo_yaml(port);  // binding it would fail: the test's socket holds the port
        name = "pier.socket";
    }
    const auto config = dir.write("pier.yaml", yaml);
    child_process child(pierd, pierd_serve_args(config),
                        socket_activation{passed.native_handle(), name});
    const auto listening = child.wait_for_line("listening", start_timeout);
    REQUIRE_MESSAGE(listening.has_value(), child.output());
    CHECK(endpoint_from_log(*listening).port() == port);
    CHECK(listening->find("socket=inherited") != std::string::npos);
    REQUIRE(child.wait_for_line("ready", start_timeout).has_value());
    passed.close();  // pierd has its own copy of the socket

    const auto served = [&] {
        run_with_timeout(
            io,
            [&]() -> asio::awaitable<void> {
                auto socket =
                    co_await connect_to(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
                const auto payload = make_payload(1000);
                CHECK(co_await echo_exchange(socket, payload) == payload);
            },
            10s);
    };
    served();

    // A reload cannot move a socket systemd owns: the change is reported, the socket stays.
    dir.write("pier.yaml", echo_yaml(0) + "    backlog: 64\n");
    child.send_signal(SIGHUP);
    const auto kept =
        child.wait_for_line("needs a restart to apply listeners.echo.", start_timeout);
    REQUIRE_MESSAGE(kept.has_value(), child.output());
    CHECK(kept->find("the socket comes from systemd") != std::string::npos);
    REQUIRE(child.wait_for_line("reload complete", start_timeout).has_value());
    served();
    child.send_signal(SIGTERM);
    CHECK(child.wait_exit(std::chrono::seconds(20)) == std::optional<int>(0));
}

}  // namespace
}  // namespace pier::test
