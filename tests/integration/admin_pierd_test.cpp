// The real pierd with its descriptors exhausted: the admin endpoint still answers a probe, on
// the descriptor it keeps in reserve (admin/reserve_descriptor.hpp).
#include <csignal>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

const std::string pierd = PIERD_PATH;
constexpr auto line_timeout = std::chrono::seconds(20);

// Proves /healthz answers while the echo listener's clients hold every descriptor pierd may
// open (RLIMIT_NOFILE 64, 100 clients), twice in a row: the reserve is taken back after the
// first probe. Before, the admin accept failed with EMFILE like the workers' and no probe
// was answered.
TEST_CASE("admin: /healthz answers while the workers hold every descriptor") {
    temp_dir dir;
    const auto config = dir.write("pier.yaml",
                                  "runtime:\n  threads: 2\nadmin:\n  listen: \"127.0.0.1:0\"\n"
                                  "listeners:\n  - name: echo\n    listen: \"127.0.0.1:0\"\n");
    child_process child(pierd, pierd_serve_args(config), std::nullopt, 64);
    const auto listening = child.wait_for_line("listening listener=echo", line_timeout);
    REQUIRE_MESSAGE(listening.has_value(), child.output());
    const auto admin_line = child.wait_for_line("admin listening", line_timeout);
    REQUIRE_MESSAGE(admin_line.has_value(), child.output());
    REQUIRE(child.wait_for_line("ready", line_timeout).has_value());
    const auto admin = endpoint_from_log(*admin_line);
    const auto echo = endpoint_from_log(*listening);

    asio::io_context io;
    std::vector<tcp::socket> clients;
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            // More than 64: the kernel queues the rest, and pierd's accepts fail for want of
            // descriptors.
            for (int i = 0; i < 100; ++i) clients.push_back(co_await connect_to(echo));
        },
        20s);
    REQUIRE_MESSAGE(child.wait_for_line("accept failed listener=echo", line_timeout).has_value(),
                    child.output());
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            for (int probe = 0; probe < 2; ++probe) {
                CAPTURE(probe);
                CHECK((co_await get(admin, "/healthz")).status == 200);
            }
        },
        20s);
    CHECK(
        child.wait_for_line("serving a connection on the reserved one", line_timeout).has_value());
    clients.clear();
    child.send_signal(SIGTERM);
    CHECK(child.wait_exit(line_timeout) == std::optional<int>(0));
}

}  // namespace
}  // namespace pier::test
