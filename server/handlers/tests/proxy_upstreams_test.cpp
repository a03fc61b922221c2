// Unit tests for the proxy's upstreams: balance policies, passive ejection and its growing
// cooldown, and what a reload carries over.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "pier/handlers/proxy/upstream_group.hpp"

using namespace pier;
using namespace pier::handlers::proxy;
using namespace std::chrono_literals;

namespace {

config::proxy_config proxy_of(std::vector<std::pair<std::uint16_t, unsigned>> ports_and_weights,
                              config::balance_policy policy) {
    config::proxy_config cfg;
    for (const auto& [port, weight] : ports_and_weights) {
        cfg.upstreams.push_back({{"127.0.0.1", port}, weight});
    }
    cfg.balance = policy;
    return cfg;
}

/// The ports `n` picks return, in order.
std::vector<std::uint16_t> picks(upstream_group& group, int n, clock::time_point now = {}) {
    std::vector<std::uint16_t> out;
    for (int i = 0; i < n; ++i) out.push_back(group.pick(now, {})->endpoint().port());
    return out;
}

}  // namespace

TEST_CASE("proxy upstreams: round robin is smooth and follows weights") {
    upstream_group group(proxy_of({{1, 5}, {2, 1}, {3, 1}}, config::balance_policy::round_robin),
                         nullptr);
    // nginx's smooth weighted round robin: the heavy one is spread out, not bunched.
    CHECK(picks(group, 7) == std::vector<std::uint16_t>{1, 1, 2, 1, 3, 1, 1});
    CHECK(picks(group, 7) == std::vector<std::uint16_t>{1, 1, 2, 1, 3, 1, 1});
}

TEST_CASE("proxy upstreams: least connections picks the least loaded per unit of weight") {
    upstream_group group(
        proxy_of({{1, 1}, {2, 1}, {3, 2}}, config::balance_policy::least_connections), nullptr);
    std::vector<upstream::lease> leases;
    std::map<std::uint16_t, int> active;
    for (int i = 0; i < 8; ++i) {
        auto target = group.pick({}, {});
        ++active[target->endpoint().port()];
        leases.emplace_back(target);
    }
    // Weight 2 carries twice the connections of each weight-1 upstream.
    CHECK(active == std::map<std::uint16_t, int>{{1, 2}, {2, 2}, {3, 4}});
    // Equal loads take turns rather than all going to the first.
    upstream_group even(proxy_of({{1, 1}, {2, 1}}, config::balance_policy::least_connections),
                        nullptr);
    CHECK(picks(even, 4) == std::vector<std::uint16_t>{1, 2, 1, 2});
}

TEST_CASE("proxy upstreams: random_two prefers the less loaded of its two") {
    upstream_group group(proxy_of({{1, 1}, {2, 1}}, config::balance_policy::random_two), nullptr);
    // With two upstreams both are always drawn: the idle one wins every time.
    auto busy = group.pick({}, {});
    const upstream::lease held(busy);
    for (int i = 0; i < 50; ++i) CHECK(group.pick({}, {}) != busy);
    // Over many picks with leases held, load stays even (power of two choices: within a few).
    upstream_group four(
        proxy_of({{1, 1}, {2, 1}, {3, 1}, {4, 1}}, config::balance_policy::random_two), nullptr);
    std::vector<upstream::lease> leases;
    for (int i = 0; i < 400; ++i) leases.emplace_back(four.pick({}, {}));
    const auto snapshot = four.snapshot({});
    for (const auto& u : snapshot) {
        CAPTURE(u.address);
        CHECK(u.active >= 80);
        CHECK(u.active <= 120);
    }
}

TEST_CASE("proxy upstreams: tried upstreams are skipped; none left is null") {
    upstream_group group(proxy_of({{1, 1}, {2, 1}}, config::balance_policy::round_robin), nullptr);
    auto first = group.pick({}, {});
    auto second = group.pick({}, {first.get()});
    CHECK(second != first);
    CHECK(group.pick({}, {first.get(), second.get()}) == nullptr);
}

TEST_CASE("proxy upstreams: max_fails failures in a row eject, for longer each time") {
    upstream u({"127.0.0.1", 1});
    const clock::time_point t0{};
    CHECK_FALSE(u.connect_failed(t0, 3, 10s).has_value());
    CHECK_FALSE(u.connect_failed(t0, 3, 10s).has_value());
    CHECK(u.available(t0));
    CHECK(u.connect_failed(t0, 3, 10s) == std::optional<clock::duration>(10s));  // the third
    // Connects begun before the ejection that fail now neither eject again nor lengthen it.
    CHECK_FALSE(u.connect_failed(t0 + 1s, 3, 10s).has_value());
    CHECK_FALSE(u.available(t0 + 9s));
    CHECK(u.available(t0 + 10s));  // the cooldown ran out: one trial
    // The trial fails: ejected again at once, for twice as long.
    CHECK(u.connect_failed(t0 + 10s, 3, 10s) == std::optional<clock::duration>(20s));
    CHECK_FALSE(u.available(t0 + 29s));
    CHECK(u.available(t0 + 30s));
    // A success ends the streak: it takes max_fails failures again, and 10s again.
    u.connect_succeeded(1ms);
    CHECK_FALSE(u.connect_failed(t0 + 30s, 3, 10s).has_value());
    CHECK_FALSE(u.connect_failed(t0 + 30s, 3, 10s).has_value());
    CHECK(u.connect_failed(t0 + 30s, 3, 10s).has_value());
    CHECK(u.available(t0 + 40s));
    const auto s = u.snapshot(t0 + 35s);
    CHECK_FALSE(s.available);
    CHECK(s.connect_failures == 8);
    CHECK(s.ejections == 3);
    CHECK(s.connects == 1);
    // max_fails 0: never ejected.
    upstream never({"127.0.0.1", 2});
    for (int i = 0; i < 100; ++i) CHECK_FALSE(never.connect_failed(t0, 0, 10s).has_value());
    CHECK(never.available(t0));
}

TEST_CASE("proxy upstreams: health checks take out after fall failures, back after rise passes") {
    const clock::time_point t0{};
    using change = upstream::check_change;
    // The first probe ever decides alone: a failure takes the upstream out at once.
    upstream fresh({"127.0.0.1", 2});
    CHECK(fresh.check_failed(3) == change::went_down);
    CHECK_FALSE(fresh.available(t0));

    upstream u({"127.0.0.1", 1});
    CHECK(u.check_passed(2) == change::none);  // up from the start
    CHECK(u.check_failed(3) == change::none);
    CHECK(u.check_failed(3) == change::none);
    CHECK(u.check_passed(2) == change::none);  // a pass ends the failure streak
    CHECK(u.check_failed(3) == change::none);
    CHECK(u.check_failed(3) == change::none);
    CHECK(u.available(t0));
    CHECK(u.check_failed(3) == change::went_down);
    CHECK_FALSE(u.available(t0 + 1h));  // no cooldown: down until the checks say otherwise
    CHECK(u.check_failed(3) == change::none);
    CHECK(u.check_passed(2) == change::none);
    CHECK(u.check_failed(3) == change::none);  // a failure ends the rise streak
    CHECK(u.check_passed(2) == change::none);
    CHECK_FALSE(u.available(t0));
    CHECK(u.check_passed(2) == change::went_up);
    CHECK(u.available(t0));
    const auto s = u.snapshot(t0);
    CHECK(s.health_checks == 12);
    CHECK(s.health_check_failures == 7);
}

TEST_CASE("proxy upstreams: a passed check ends a passive ejection; forget_checks ends all") {
    upstream u({"127.0.0.1", 1});
    const clock::time_point t0{};
    CHECK(u.connect_failed(t0, 1, 1min).has_value());
    CHECK_FALSE(u.available(t0));
    CHECK(u.check_passed(2) == upstream::check_change::none);  // it was never down by checks
    CHECK(u.available(t0));                                    // it answers: the ejection is over
    // And the streak starts over: the next ejection lasts fail_timeout, not twice that.
    CHECK(u.connect_failed(t0, 1, 1min) == std::optional<clock::duration>(1min));

    upstream down({"127.0.0.1", 2});
    CHECK(down.check_failed(3) == upstream::check_change::went_down);  // the first probe
    CHECK_FALSE(down.available(t0));
    down.forget_checks();
    CHECK(down.available(t0));
    // Forgotten: checks turned on again start over, the first probe deciding alone.
    CHECK(down.check_failed(3) == upstream::check_change::went_down);
}

TEST_CASE("proxy upstreams: the cooldown stops doubling at 32 times fail_timeout") {
    upstream u({"127.0.0.1", 1});
    clock::time_point now{};
    for (int i = 0; i < 10; ++i) {
        CHECK(u.connect_failed(now, 1, 1s).has_value());
        const auto until = now;
        now += 1h;  // far past any cooldown
        CHECK(u.available(now));
        if (i >= 5) CHECK_FALSE(u.available(until + 31s));
        if (i >= 5) CHECK(u.available(until + 32s));
    }
}

TEST_CASE("proxy upstreams: ejected upstreams are not picked; all ejected is null") {
    config::proxy_config cfg = proxy_of({{1, 1}, {2, 1}}, config::balance_policy::round_robin);
    upstream_group group(cfg, nullptr);
    const clock::time_point t0{};
    auto a = group.pick(t0, {});
    CHECK(a->connect_failed(t0, 1, 5s).has_value());
    for (int i = 0; i < 4; ++i) CHECK(group.pick(t0, {}) != a);
    auto b = group.pick(t0, {});
    CHECK(b->connect_failed(t0, 1, 5s).has_value());
    CHECK(group.pick(t0, {}) == nullptr);
    CHECK(group.pick(t0 + 5s, {}) != nullptr);  // both back for a trial
}

TEST_CASE("proxy upstreams: a reload keeps upstreams by address, with their state") {
    const clock::time_point t0{};
    upstream_group before(proxy_of({{1, 1}, {2, 1}}, config::balance_policy::round_robin), nullptr);
    auto kept = before.pick(t0, {});
    const upstream::lease active(kept);
    CHECK(kept->connect_failed(t0, 1, 1min).has_value());
    before.counters().no_upstream = 7;

    const auto kept_port = kept->endpoint().port();
    const std::uint16_t dropped_port = kept_port == 1 ? 2 : 1;
    upstream_group after(proxy_of({{kept_port, 3}, {9, 1}}, config::balance_policy::round_robin),
                         &before);
    const auto snapshot = after.snapshot(t0);
    REQUIRE(snapshot.size() == 2);
    CHECK(snapshot[0].address == "127.0.0.1:" + std::to_string(kept_port));
    CHECK(snapshot[0].active == 1);      // the connection opened before the reload
    CHECK_FALSE(snapshot[0].available);  // still ejected
    CHECK(snapshot[1].address == "127.0.0.1:9");
    CHECK(snapshot[1].available);
    CHECK(after.counters().no_upstream == 7);
    for (int i = 0; i < 5; ++i) CHECK(after.pick(t0, {})->endpoint().port() == 9);
    CHECK(dropped_port != 9);
}
