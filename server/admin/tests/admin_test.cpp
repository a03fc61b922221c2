// Unit tests for what the admin endpoint answers: the Prometheus rendering of a snapshot and
// the routing of request lines. No sockets (tests/integration/admin_test.cpp has those).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sstream>

#include "pier/admin/metrics.hpp"
#include "pier/admin/probe.hpp"
#include "pier/admin/routes.hpp"

using namespace pier::admin;

namespace {

metrics_snapshot sample_snapshot() {
    metrics_snapshot s;
    s.version = "1.2.3";
    s.scheduler = "work_stealing";
    s.ready = true;
    listener_snapshot l;
    l.name = "edge";
    l.handler = pier::config::handler_kind::echo;
    l.active = 3;
    l.accepted = 10;
    l.rejected_by[static_cast<std::size_t>(pier::net::reject_reason::max_connections)] = 2;
    const auto closed = [&](pier::net::stop_reason reason) -> std::uint64_t& {
        return l.closed_by[static_cast<std::size_t>(reason)];
    };
    closed(pier::net::stop_reason::none) = 4;
    closed(pier::net::stop_reason::idle_timeout) = 2;
    closed(pier::net::stop_reason::request_timeout) = 5;
    closed(pier::net::stop_reason::drain) = 1;
    l.traffic = {100, 90, 7, 1};
    s.listeners.push_back(l);
    worker_snapshot w;
    w.live_connections = 3;
    pier::runtime::worker_metrics m;
    m.tasks_run = 55;
    m.io_steals = 6;
    m.local_queue_depth = 2;
    w.scheduler_metrics = m;
    s.workers.push_back(w);
    s.workers.push_back(worker_snapshot{0, pier::runtime::worker_metrics{}});
    s.process.open_fds = 12;
    s.reload = {4, 1, false, 1700000000.5, true};
    return s;
}

bool has_line(const std::string& text, const std::string& line) {
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        if (l == line) return true;
    }
    return false;
}

admin_sources sources(bool ready) {
    return {[ready] { return ready; }, [] { return sample_snapshot(); }};
}

}  // namespace

TEST_CASE("admin metrics: a snapshot renders as Prometheus text") {
    // Proves each figure lands in its family with its labels, and that every family has its
    // HELP and TYPE lines before its samples.
    const auto text = format_prometheus(sample_snapshot());
    CHECK(has_line(text, "pier_build_info{version=\"1.2.3\",scheduler=\"work_stealing\"} 1"));
    CHECK(has_line(text, "pier_ready 1"));
    CHECK(has_line(text, "# TYPE pier_connections_active gauge"));
    CHECK(has_line(text, "pier_connections_active{listener=\"edge\"} 3"));
    CHECK(has_line(text, "# TYPE pier_connections_accepted_total counter"));
    CHECK(has_line(text, "pier_connections_accepted_total{listener=\"edge\"} 10"));
    CHECK(has_line(
        text, "pier_connections_rejected_total{listener=\"edge\",reason=\"max_connections\"} 2"));
    CHECK(has_line(text, "pier_connections_closed_total{listener=\"edge\",reason=\"peer\"} 4"));
    CHECK(has_line(text,
                   "pier_connections_closed_total{listener=\"edge\",reason=\"idle_timeout\"} 2"));
    CHECK(has_line(
        text, "pier_connections_closed_total{listener=\"edge\",reason=\"request_timeout\"} 5"));
    CHECK(has_line(text, "pier_connections_closed_total{listener=\"edge\",reason=\"drain\"} 1"));
    // The label values operators scrape stay as they were, zeros included.
    for (const auto* reason : {"write_timeout", "drain_timeout"}) {
        CHECK(has_line(
            text, fmt::format("pier_connections_closed_total{{listener=\"edge\",reason=\"{}\"}} 0",
                              reason)));
    }
    for (const auto* reason : {"global_max_connections", "max_connections_per_ip"}) {
        CHECK(has_line(
            text,
            fmt::format("pier_connections_rejected_total{{listener=\"edge\",reason=\"{}\"}} 0",
                        reason)));
    }
    CHECK(has_line(text, "pier_received_bytes_total{listener=\"edge\"} 100"));
    CHECK(has_line(text, "pier_sent_bytes_total{listener=\"edge\"} 90"));
    CHECK(has_line(text, "pier_requests_total{listener=\"edge\",handler=\"echo\"} 7"));
    CHECK(has_line(text, "pier_handler_errors_total{listener=\"edge\",handler=\"echo\"} 1"));
    CHECK(has_line(text, "pier_worker_connections{worker=\"0\"} 3"));
    CHECK(has_line(text, "pier_worker_tasks_total{worker=\"0\"} 55"));
    CHECK(has_line(text, "pier_worker_io_steals_total{worker=\"0\"} 6"));
    CHECK(has_line(text, "pier_worker_local_queue_depth{worker=\"0\"} 2"));
    CHECK(has_line(text, "pier_worker_tasks_total{worker=\"1\"} 0"));
    CHECK(has_line(text, "process_open_fds 12"));
    CHECK(has_line(text, "pier_config_reloads_total{result=\"success\"} 4"));
    CHECK(has_line(text, "pier_config_reloads_total{result=\"failure\"} 1"));
    CHECK(has_line(text, "pier_config_last_reload_successful 0"));
    CHECK(has_line(text, "pier_config_last_reload_success_timestamp_seconds 1700000000.5"));
    CHECK(has_line(text, "pier_config_restart_required 1"));

    // Every sample's family was declared before it.
    std::istringstream in(text);
    std::string declared;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("# TYPE ", 0) == 0) {
            declared = line.substr(7, line.find(' ', 7) - 7);
        } else if (line[0] != '#') {
            CAPTURE(line);
            CHECK(line.rfind(declared, 0) == 0);
        }
    }
}

TEST_CASE("admin metrics: pinned has no scheduler families; label values are escaped") {
    auto s = sample_snapshot();
    for (auto& w : s.workers) w.scheduler_metrics.reset();
    s.listeners[0].name = "a\"b\\c";
    const auto text = format_prometheus(s);
    CHECK(text.find("pier_worker_tasks_total") == std::string::npos);
    CHECK(has_line(text, "pier_worker_connections{worker=\"0\"} 3"));
    CHECK(has_line(text, "pier_connections_active{listener=\"a\\\"b\\\\c\"} 3"));
}

TEST_CASE("admin metrics: the process figures come from /proc/self") {
    const auto p = read_process_snapshot();
    CHECK(p.resident_bytes > 0);
    CHECK(p.open_fds >= 3);  // at least stdin, stdout, stderr
    CHECK(p.max_fds >= p.open_fds);
    CHECK(p.start_time_seconds > 1.6e9);  // after 2020
}

TEST_CASE("admin routes: paths, methods and readiness") {
    // Proves each path's status and content type, HEAD like GET, 405 with Allow for other
    // methods, 404 elsewhere, and that a query string does not change the path.
    const auto ready = sources(true);
    const auto metrics = route("GET", "/metrics", ready);
    CHECK(metrics.status == 200);
    CHECK(metrics.content_type == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(has_line(metrics.body, "pier_ready 1"));
    CHECK(route("GET", "/metrics?name[]=x", ready).status == 200);
    CHECK(route("HEAD", "/metrics", ready).status == 200);
    CHECK(route("GET", "/healthz", ready).body == "ok\n");
    CHECK(route("GET", "/readyz", ready).status == 200);
    CHECK(route("GET", "/readyz", sources(false)).status == 503);
    CHECK(route("GET", "/healthz", sources(false)).status == 200);  // alive while draining
    const auto post = route("POST", "/metrics", ready);
    CHECK(post.status == 405);
    CHECK(post.allow == "GET, HEAD");
    CHECK(route("GET", "/", ready).status == 404);
    CHECK(route("GET", "/metrics/extra", ready).status == 404);
    CHECK(route("GET", "", ready).status == 404);
}

TEST_CASE("admin probe: URLs a health check may use") {
    // Proves host, port and target are split out, localhost maps to 127.0.0.1, IPv6 needs
    // brackets, and what a probe cannot do (https, names, bad ports) is refused with a reason.
    const auto ok = [](std::string_view text) {
        const auto parsed = parse_probe_url(text);
        REQUIRE(parsed);
        return parsed.value();
    };
    const auto error = [](std::string_view text) {
        const auto parsed = parse_probe_url(text);
        REQUIRE_FALSE(parsed);
        return parsed.error();
    };
    const auto full = ok("http://127.0.0.1:9090/readyz?x=1");
    CHECK(full.host == "127.0.0.1");
    CHECK(full.port == 9090);
    CHECK(full.target == "/readyz?x=1");
    const auto bare = ok("http://localhost");
    CHECK(bare.host == "127.0.0.1");
    CHECK(bare.port == 80);
    CHECK(bare.target == "/");
    const auto v6 = ok("http://[::1]:8080/healthz");
    CHECK(v6.host == "::1");
    CHECK(v6.port == 8080);
    CHECK(error("https://127.0.0.1/").find("http://") != std::string::npos);
    CHECK(error("http://example.com/").find("IP address") != std::string::npos);
    CHECK(error("http://127.0.0.1:0/") == "port must be 1 to 65535");
    CHECK(error("http://127.0.0.1:70000/") == "port must be 1 to 65535");
    CHECK(error("http://127.0.0.1:99999999999999999999/") == "bad port");
    CHECK(error("http://127.0.0.1:9x/") == "bad port");
    CHECK(error("http://:80/") == "missing host");
    CHECK(error("http://[::1/") == "unterminated [IPv6] host");
}
