// Unit tests for what a reload changes (daemon/config_diff): matching listeners by name, the
// "key: old -> new" descriptions, and what needs a restart.
#include <doctest/doctest.h>

#include "pier/daemon/config_diff.hpp"

using namespace pier;
using namespace std::chrono_literals;

namespace {

config::listener_config listener(const std::string& name, std::uint16_t port) {
    config::listener_config l;
    l.name = name;
    l.listen = {"127.0.0.1", port};
    return l;
}

config::config with(std::vector<config::listener_config> listeners) {
    config::config cfg;
    cfg.listeners = std::move(listeners);
    return cfg;
}

}  // namespace

TEST_CASE("config diff: the same config, listeners in another order, changes nothing") {
    const auto a = with({listener("a", 7000), listener("b", 7001)});
    const auto b = with({listener("b", 7001), listener("a", 7000)});
    const auto diff = daemon::diff_configs(a, b);
    CHECK(diff.empty());
    CHECK(diff.need_restart.empty());
}

TEST_CASE("config diff: listeners are matched by name: added, removed, changed") {
    const auto running = with({listener("kept", 7000), listener("gone", 7001)});
    auto next = with({listener("kept", 7000), listener("new", 7002)});
    const auto diff = daemon::diff_configs(running, next);
    REQUIRE(diff.added.size() == 1);
    CHECK(diff.added[0].name == "new");
    REQUIRE(diff.removed.size() == 1);
    CHECK(diff.removed[0].name == "gone");
    CHECK(diff.changed.empty());

    // A renamed listener is a removal and an addition, even on the same address.
    const auto renamed =
        daemon::diff_configs(running, with({listener("kept", 7000), listener("renamed", 7001)}));
    CHECK(renamed.added.size() == 1);
    CHECK(renamed.removed.size() == 1);
}

TEST_CASE("config diff: a changed listener lists each changed key, old and new") {
    const auto running = with({listener("svc", 7000)});
    auto next = running;
    auto& l = next.listeners[0];
    l.idle_timeout = 1min;
    l.handler = pier::config::handler_kind::synthetic;
    l.synthetic.delay = 10ms;
    l.max_connections_per_ip = 8;
    auto diff = daemon::diff_configs(running, next);
    REQUIRE(diff.changed.size() == 1);
    const auto& change = diff.changed[0];
    CHECK(change.after.name == "svc");
    CHECK_FALSE(change.rebind);
    CHECK(change.changes ==
          std::vector<std::string>{"handler: echo -> synthetic", "max_connections_per_ip: 0 -> 8",
                                   "idle_timeout: 5m -> 1m", "synthetic.delay: 0s -> 10ms"});

    auto proxied = running;
    auto& p = proxied.listeners[0].proxy;
    p.half_close_timeout = 30s;
    p.health_check = config::health_check_config{};
    p.health_check->send = "PING\r\n";
    diff = daemon::diff_configs(running, proxied);
    REQUIRE(diff.changed.size() == 1);
    CHECK(diff.changed[0].changes ==
          std::vector<std::string>{"proxy.half_close_timeout: unset -> 30s",
                                   "proxy.health_check: off -> {interval 2s, timeout 1s, rise 2, "
                                   "fall 3, send 6 bytes, expect 0 bytes}"});

    l.listen.port = 7005;
    diff = daemon::diff_configs(running, next);
    REQUIRE(diff.changed.size() == 1);
    CHECK(diff.changed[0].rebind);
    CHECK(diff.changed[0].changes.front() == "listen: 127.0.0.1:7000 -> 127.0.0.1:7005");
}

TEST_CASE("config diff: global settings apply live; runtime and admin need a restart") {
    const auto running = with({listener("svc", 7000)});
    auto next = running;
    next.log.level = config::log_level::debug;
    next.limits.max_connections = 500;
    next.shutdown.drain_timeout = 5s;
    next.runtime.threads = 4;
    next.runtime.scheduler = config::scheduler_kind::pinned;
    next.runtime.busy_polling = true;
    next.admin.enabled = true;
    const auto diff = daemon::diff_configs(running, next);
    CHECK_FALSE(diff.empty());
    CHECK(diff.applied_globally == std::vector<std::string>{"log.level: info -> debug",
                                                            "limits.max_connections: 0 -> 500",
                                                            "shutdown.drain_timeout: 20s -> 5s"});
    CHECK(diff.need_restart ==
          std::vector<std::string>{
              "runtime.threads: auto -> 4", "runtime.scheduler: work_stealing -> pinned",
              "runtime.busy_polling: false -> true", "admin.enabled: false -> true"});

    // Only a restart-only change: nothing to apply live, but it is still reported.
    auto threads_only = running;
    threads_only.runtime.threads = 2;
    const auto restart_only = daemon::diff_configs(running, threads_only);
    CHECK(restart_only.empty());
    CHECK(restart_only.need_restart.size() == 1);
}
