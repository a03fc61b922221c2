// Reload through the server's API (what SIGHUP calls once the file has parsed): listeners
// added, removed and changed while clients stay connected, a reload that cannot bind changing
// nothing, and what only a restart can change.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <future>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

config::listener_config echo_listener(const std::string& name,
                                      const std::string& host = "127.0.0.1") {
    config::listener_config l;
    l.name = name;
    l.listen = {host, 0};
    l.handler = pier::config::handler_kind::echo;
    return l;
}

config::config with_listeners(std::vector<config::listener_config> listeners) {
    auto cfg = echo_config();
    cfg.listeners = std::move(listeners);
    return cfg;
}

/// True when nothing listens on `endpoint` any more.
asio::awaitable<bool> refused(const tcp::endpoint& endpoint) {
    tcp::socket socket(co_await asio::this_coro::executor);
    auto [ec] = co_await socket.async_connect(endpoint, asio::as_tuple(asio::use_awaitable));
    co_return ec == asio::error::connection_refused;
}

bool has_listener(daemon::server& server, const std::string& name) {
    const auto& all = server.listeners();
    return std::any_of(all.begin(), all.end(), [&](const auto& l) { return l->name() == name; });
}

// Proves the issue's reload scenario: with clients connected to all three, a reload adds a
// listener and removes one; the kept listener's client goes on as if nothing happened, the
// removed listener's idle client is drained (closed without a byte lost) and its address
// refuses new clients, the added one serves at once.
TEST_CASE("reload: a listener added and one removed while connections stay open on a third") {
    running_server server(with_listeners({echo_listener("kept"), echo_listener("gone")}));
    const auto kept = server.endpoint("kept");
    const auto gone = server.endpoint("gone");
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto on_kept = co_await connect_to(kept);
            auto on_gone = co_await connect_to(gone);
            const auto before = make_payload(20000, 1);
            CHECK(co_await echo_exchange(on_kept, before) == before);
            CHECK(co_await echo_exchange(on_gone, before) == before);

            const auto outcome = server.get().reload(
                with_listeners({echo_listener("kept"), echo_listener("added")}));
            REQUIRE(outcome.applied);
            CHECK(outcome.errors.empty());
            CHECK(outcome.need_restart.empty());
            CHECK(has_listener(server.get(), "added"));
            CHECK_FALSE(has_listener(server.get(), "gone"));

            const auto after = make_payload(200000, 2);
            CHECK(co_await echo_exchange(on_kept, after) == after);
            CHECK(co_await closed_without_answer(on_gone));
            CHECK(co_await refused(gone));
            auto on_added = co_await connect_to(server.endpoint("added"));
            CHECK(co_await echo_exchange(on_added, after) == after);
            CHECK(server.listener("kept").stats().closed.load() == 0);  // before ours close
        },
        20s);
    CHECK(server.listener("kept").stats().accepted.load() == 1);
    CHECK(server.get().metrics_snapshot().reload.succeeded == 1);
}

// Proves a listener changed in place keeps its open connections: the client connected before
// the reload keeps its handler (echo) on the old address, while clients that come after get the
// new handler on the new address; the old address refuses; a later idle_timeout change applies
// to the old connection too.
TEST_CASE("reload: a changed listener keeps its connections; new settings apply as they should") {
    running_server server(with_listeners({echo_listener("svc")}));
    const auto old_endpoint = server.endpoint("svc");
    with_client(
        old_endpoint,
        [&](tcp::socket& early) -> asio::awaitable<void> {
            const auto payload = make_payload(5000, 3);
            CHECK(co_await echo_exchange(early, payload) == payload);

            auto changed = echo_listener("svc", "127.0.0.2");  // another loopback address
            changed.handler = pier::config::handler_kind::synthetic;
            const auto outcome = server.get().reload(with_listeners({changed}));
            REQUIRE(outcome.applied);
            const auto new_endpoint = server.endpoint("svc");
            CHECK(new_endpoint.address().to_string() == "127.0.0.2");
            CHECK(co_await refused(old_endpoint));

            auto late = co_await connect_to(new_endpoint);
            CHECK(co_await ask(late, "size=5\n") == "OKxx\n");
            CHECK(co_await echo_exchange(early, payload) == payload);  // still echo

            // The idle_timeout set now (not the 5m it was accepted under) closes it.
            changed.idle_timeout = 300ms;
            REQUIRE(server.get().reload(with_listeners({changed})).applied);
            CHECK(co_await closed_without_answer(early));
        },
        20s);
    CHECK(server.listener("svc").stats().closed_for(pier::net::stop_reason::idle_timeout) >= 1);
    CHECK(server.listener("svc").stats().closed.load() >= 1);
}

// Proves lowered limits keep open connections (nothing is cut) and turn new ones away.
TEST_CASE("reload: a lower max_connections keeps the open connections and rejects new ones") {
    running_server server(with_listeners({echo_listener("svc")}));
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            std::vector<tcp::socket> open;
            const auto payload = make_payload(1000, 4);
            for (int i = 0; i < 3; ++i) {
                open.push_back(co_await connect_to(server.endpoint("svc")));
                CHECK(co_await echo_exchange(open.back(), payload) == payload);
            }
            auto lowered = echo_listener("svc");
            lowered.max_connections = 2;
            REQUIRE(server.get().reload(with_listeners({lowered})).applied);
            auto extra = co_await connect_to(server.endpoint("svc"));
            CHECK(co_await closed_without_answer(extra));
            for (auto& socket : open) CHECK(co_await echo_exchange(socket, payload) == payload);

            auto global = with_listeners({echo_listener("svc")});  // per-listener cap lifted...
            global.limits.max_connections = 3;                     // ...but 3 in all
            REQUIRE(server.get().reload(global).applied);
            auto over_global = co_await connect_to(server.endpoint("svc"));
            CHECK(co_await closed_without_answer(over_global));
        },
        20s);
    CHECK(server.listener("svc").stats().rejected_for(pier::net::reject_reason::max_connections) ==
          1);
    CHECK(server.listener("svc").stats().rejected_for(
              pier::net::reject_reason::global_max_connections) == 1);
}

// Proves a reload is all or nothing: a new listener whose address is taken fails it, and the
// other changes in the same file (a new idle_timeout, a second new listener) are not applied.
TEST_CASE("reload: a socket that cannot be bound fails the reload and changes nothing") {
    running_server server(with_listeners({echo_listener("svc")}));
    asio::io_context io;
    tcp::acceptor squatter(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto running = server.get().configuration();

    auto next =
        with_listeners({echo_listener("svc"), echo_listener("fine"), echo_listener("taken")});
    next.listeners[0].idle_timeout = 1s;
    next.listeners[2].listen.port = squatter.local_endpoint().port();
    const auto outcome = server.get().reload(next);
    CHECK_FALSE(outcome.applied);
    REQUIRE(outcome.errors.size() == 1);
    CHECK(outcome.errors[0].find("listener \"taken\": cannot bind") != std::string::npos);
    CHECK(server.get().configuration() == running);
    CHECK(server.get().listeners().size() == 1);
    const auto reload = server.get().metrics_snapshot().reload;
    CHECK(reload.failed == 1);
    CHECK(reload.succeeded == 0);
    CHECK_FALSE(reload.last_ok);

    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            auto socket = co_await connect_to(server.endpoint("svc"));
            const auto payload = make_payload(1000, 5);
            CHECK(co_await echo_exchange(socket, payload) == payload);
        },
        10s);
}

// Proves what cannot change live is reported and kept: the worker count stays, the change is
// listed as needing a restart, and /metrics says a restart is pending.
TEST_CASE("reload: runtime.threads needs a restart and is kept") {
    running_server server(with_listeners({echo_listener("svc")}));
    auto next = with_listeners({echo_listener("svc")});
    next.runtime.threads = 4;
    next.log.level = config::log_level::debug;
    const auto outcome = server.get().reload(next);
    CHECK(outcome.applied);
    REQUIRE(outcome.need_restart.size() == 1);
    CHECK(outcome.need_restart[0] == "runtime.threads: 2 -> 4");
    CHECK(server.get().pool().size() == 2);
    CHECK(server.get().configuration().runtime.threads == 2);
    CHECK(server.get().configuration().log.level == config::log_level::debug);
    CHECK(server.get().metrics_snapshot().reload.restart_pending);
}

// Proves reloads do not disturb traffic: while clients stream echo exchanges, another thread
// reloads over and over (timeouts, limits, backlog, a listener added and removed in turn);
// every byte comes back in order and no connection of the kept listener is closed.
TEST_CASE("reload: reloads while clients stream lose nothing") {
    auto base = with_listeners({echo_listener("svc")});
    running_server server(base);
    const auto endpoint = server.endpoint("svc");
    // Looked up before the reloads start: the list of listeners is the reloading thread's.
    const auto& stats = server.listener("svc").stats();
    std::atomic<bool> streaming{true};
    std::atomic<int> reloads{0};
    std::promise<void> connected;
    bool clients_connected = false;
    std::thread reloader([&, started = connected.get_future()] {
        started.wait();  // every reload below overlaps the clients' streaming
        for (int i = 0; i < 100'000 && streaming.load(); ++i, ++reloads) {
            auto next = base;
            next.listeners[0].idle_timeout = i % 2 == 0 ? 4min : 5min;
            next.listeners[0].max_connections = 1000 + static_cast<unsigned>(i);
            next.listeners[0].backlog = 512 + static_cast<unsigned>(i);
            next.limits.max_connections = i % 3 == 0 ? 0 : 5000;
            if (i % 2 == 0) next.listeners.push_back(echo_listener("extra"));
            CHECK(server.get().reload(next).applied);
        }
    });
    // If the clients fail (a deadline), the reloader is released and stopped before the
    // failure goes on: left waiting for them, or reloading, it would never be joined.
    const auto stop_reloader = [&] {
        streaming = false;
        if (!clients_connected) connected.set_value();
        reloader.join();
    };
    try {
        with_clients(
            endpoint, 4,
            [&](std::vector<tcp::socket>& clients) -> asio::awaitable<void> {
                connected.set_value();
                clients_connected = true;
                // At least 40 rounds, and on until 20 reloads have happened meanwhile.
                for (int round = 0; round < 40 || reloads.load() < 20; ++round) {
                    for (std::size_t c = 0; c < clients.size(); ++c) {
                        const auto payload = make_payload(
                            8000, static_cast<unsigned>(round * 4) + static_cast<unsigned>(c));
                        CHECK(co_await echo_exchange(clients[c], payload) == payload);
                    }
                }
                streaming = false;
                CHECK(stats.closed.load() == 0);  // before ours close
            },
            60s);
    } catch (...) {
        stop_reloader();
        throw;
    }
    stop_reloader();
    CHECK(reloads.load() >= 20);
    CHECK(server.get().metrics_snapshot().reload.failed == 0);
}

const std::string pierd = PIERD_PATH;
constexpr auto line_timeout = std::chrono::seconds(20);

/// A pierd config: the admin endpoint and one echo listener, both on 127.0.0.1:0.
std::string daemon_yaml(const std::string& level, const std::string& listener_extra = "") {
    return "runtime:\n  threads: 2\nlog:\n  level: " + level +
           "\nadmin:\n  listen: \"127.0.0.1:0\"\nlisteners:\n  - name: echo\n"
           "    listen: \"127.0.0.1:0\"\n" +
           listener_extra;
}

asio::awaitable<std::string> metrics(const tcp::endpoint& admin) {
    const auto reply = co_await get(admin, "/metrics");
    CHECK(reply.status == 200);
    co_return reply.body;
}

// Proves SIGHUP end to end on the real binary: a broken file is reported with file:line:col and
// key, changes nothing (the client keeps being served) and counts as a failed reload; the
// corrected file applies, its log level included (debug lines appear), and counts as a success.
TEST_CASE("pierd: SIGHUP rejects a broken file, then applies the fixed one") {
    temp_dir dir;
    const auto config = dir.write("pier.yaml", daemon_yaml("info"));
    child_process child(pierd, pierd_serve_args(config));
    const auto listening = child.wait_for_line("listening listener=echo", line_timeout);
    REQUIRE_MESSAGE(listening.has_value(), child.output());
    const auto admin_line = child.wait_for_line("admin listening", line_timeout);
    REQUIRE_MESSAGE(admin_line.has_value(), child.output());
    REQUIRE(child.wait_for_line("ready", line_timeout).has_value());
    const auto echo = endpoint_from_log(*listening);
    const auto admin = endpoint_from_log(*admin_line);

    asio::io_context io;
    tcp::socket client(io);
    const auto payload = make_payload(10000, 6);
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            client = co_await connect_to(echo);
            CHECK(co_await echo_exchange(client, payload) == payload);
        },
        20s);

    dir.write("pier.yaml", daemon_yaml("info", "    idle_timeout: soon\n"));
    child.send_signal(SIGHUP);
    const auto failed = child.wait_for_line("reload failed", line_timeout);
    REQUIRE_MESSAGE(failed.has_value(), child.output());
    CHECK(std::regex_search(
        child.output(),
        std::regex(std::regex_replace(config.string(), std::regex(R"([.])"), R"(\.)") +
                   R"(:\d+:\d+: listeners\[0\]\.idle_timeout: )")));
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            CHECK(co_await echo_exchange(client, payload) == payload);
            const auto body = co_await metrics(admin);
            CHECK(has_line(body, "pier_config_reloads_total{result=\"failure\"} 1"));
            CHECK(has_line(body, "pier_config_reloads_total{result=\"success\"} 0"));
            CHECK(has_line(body, "pier_config_last_reload_successful 0"));
        },
        20s);

    // Still at info: a new connection logs nothing (it would before the next reload's line).
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            auto at_info = co_await connect_to(echo);
            CHECK(co_await echo_exchange(at_info, payload) == payload);
        },
        20s);
    dir.write("pier.yaml", daemon_yaml("debug", "    idle_timeout: 10m\n"));
    child.send_signal(SIGHUP);
    REQUIRE(child.wait_for_line("reload: reading config", line_timeout).has_value());
    CHECK(child.output().find("connection opened") == std::string::npos);
    REQUIRE_MESSAGE(child.wait_for_line("reload complete", line_timeout).has_value(),
                    child.output());
    run_with_timeout(
        io,
        [&]() -> asio::awaitable<void> {
            CHECK(co_await echo_exchange(client, payload) == payload);
            auto second = co_await connect_to(echo);
            CHECK(co_await echo_exchange(second, payload) == payload);
            const auto body = co_await metrics(admin);
            CHECK(has_line(body, "pier_config_reloads_total{result=\"success\"} 1"));
            CHECK(has_line(body, "pier_config_last_reload_successful 1"));
            CHECK(has_line(body, "pier_config_restart_required 0"));
        },
        20s);
    CHECK(child.wait_for_line("connection opened", line_timeout).has_value());
    CHECK(child.output().find("idle_timeout: 5m -> 10m") != std::string::npos);

    child.send_signal(SIGTERM);
    CHECK(child.wait_exit(std::chrono::seconds(20)) == std::optional<int>(0));
}

}  // namespace
}  // namespace pier::test
