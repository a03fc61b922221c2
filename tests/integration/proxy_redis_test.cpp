// The proxy with a real peer: two redis-server instances behind an in-process proxy listener,
// driven by redis-benchmark (both from Debian's redis packages; scripts/setup.sh installs them).
#include <csignal>
#include <string>

#include <doctest/doctest.h>

#include "support/child_process.hpp"
#include "support/proxy_fixture.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

/// A redis-server on a free loopback port, persistence off, in its own scratch directory.
class redis_instance {
public:
    explicit redis_instance(const std::string& program)
        : port_(free_port()),
          process_(program, {"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", dir_.path().string()}) {
        REQUIRE_MESSAGE(process_.wait_for_line("Ready to accept connections", 20s).has_value(),
                        process_.output());
    }

    tcp::endpoint endpoint() const { return {asio::ip::make_address("127.0.0.1"), port_}; }
    void kill() {
        process_.send_signal(SIGKILL);
        process_.wait_exit(std::chrono::seconds(20));
    }

private:
    temp_dir dir_;
    std::uint16_t port_;
    child_process process_;
};

std::uint64_t connects_to(running_server& proxy, const tcp::endpoint& upstream) {
    return upstream_figures(proxy, upstream).connects;
}

/// redis-benchmark through `port`: a bounded run of PING, SET and GET; its output.
std::string benchmark(const std::string& program, std::uint16_t port) {
    child_process run(program, {"-h", "127.0.0.1", "-p", std::to_string(port), "-q", "-t",
                                "ping,set,get", "-n", "20000", "-c", "20"});
    const auto code = run.wait_exit(std::chrono::seconds(90));
    CHECK_MESSAGE(code == std::optional<int>(0), run.output());
    return run.output();
}

// Proves the proxy carries a real protocol under load: redis-benchmark completes every request
// through it with both redis instances serving; after one is killed, a new run still completes
// with no error, all of its connections relayed to the survivor.
TEST_CASE("proxy: redis-benchmark through the proxy, then with one redis killed") {
    const auto redis_server = find_program("redis-server");
    const auto redis_benchmark = find_program("redis-benchmark");
    REQUIRE_MESSAGE(!redis_server.empty(), "redis-server missing: scripts/setup.sh installs it");
    REQUIRE_MESSAGE(!redis_benchmark.empty(),
                    "redis-benchmark missing: scripts/setup.sh installs it");
    redis_instance first(redis_server);
    redis_instance second(redis_server);

    auto cfg = front_config({first.endpoint(), second.endpoint()});
    auto& front = cfg.listeners[0];
    front.proxy.max_fails = 1;
    front.proxy.fail_timeout = 1min;  // stays ejected for the rest of the test
    running_server proxy(cfg);
    const auto port = proxy.endpoint("front").port();

    const auto both = benchmark(redis_benchmark, port);
    CHECK(both.find("GET:") != std::string::npos);
    CHECK(both.find("rror") == std::string::npos);
    CHECK(connects_to(proxy, first.endpoint()) > 0);
    CHECK(connects_to(proxy, second.endpoint()) > 0);

    first.kill();
    const auto killed_before = connects_to(proxy, first.endpoint());
    const auto survivor_before = connects_to(proxy, second.endpoint());
    const auto one = benchmark(redis_benchmark, port);
    CHECK(one.find("GET:") != std::string::npos);
    CHECK(one.find("rror") == std::string::npos);
    // Three tests of 20 connections each (and maybe a probe connection): all to the survivor.
    CHECK(connects_to(proxy, second.endpoint()) - survivor_before >= 60);
    CHECK(connects_to(proxy, first.endpoint()) == killed_before);
    const auto killed = upstream_figures(proxy, first.endpoint());
    CHECK_FALSE(killed.available);
    CHECK(killed.connect_failures >= 1);  // each a client moved on to the survivor
}

}  // namespace
}  // namespace pier::test
