#include "pier/admin/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

namespace pier::admin {
namespace {

/// A label value as the text format wants it: backslash, double quote and newline escaped.
std::string escape_label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
    return out;
}

/// Writes one metric family: its HELP and TYPE lines, then one sample per call to sample().
class family_writer {
public:
    explicit family_writer(std::string& out) : out_(out) {}

    void begin(std::string_view name, std::string_view type, std::string_view help) {
        name_ = name;
        fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                       type);
    }

    /// A sample of a histogram's series: `suffix` is "_bucket", "_sum" or "_count".
    template <typename Value>
    void sample_of(std::string_view suffix, std::string_view labels, Value value) {
        fmt::format_to(std::back_inserter(out_), "{}{}{{{}}} {}\n", name_, suffix, labels, value);
    }

    /// `labels` is the inside of the braces, already escaped ("" for none).
    template <typename Value>
    void sample(std::string_view labels, Value value) {
        if (labels.empty()) {
            fmt::format_to(std::back_inserter(out_), "{} {}\n", name_, value);
        } else {
            fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name_, labels, value);
        }
    }

private:
    std::string& out_;
    std::string name_;
};

std::string listener_labels(const listener_snapshot& l) {
    return fmt::format("listener=\"{}\"", escape_label(l.name));
}

/// One sample per reason, labelled with its name (net/close_reasons.hpp): `counts` is indexed
/// by the reason's value.
template <typename Reason, std::size_t N>
void write_by_reason(family_writer& w, const std::string& labels,
                     const std::array<std::uint64_t, N>& counts) {
    for (const auto& reason : names_of(Reason{})) {
        w.sample(labels + fmt::format(",reason=\"{}\"", reason.name),
                 counts[static_cast<std::size_t>(reason.value)]);
    }
}

void write_listeners(family_writer& w, const std::vector<listener_snapshot>& listeners) {
    w.begin("pier_connections_active", "gauge", "Connections being served.");
    for (const auto& l : listeners) w.sample(listener_labels(l), l.active);
    w.begin("pier_connections_accepted_total", "counter", "Connections admitted to the handler.");
    for (const auto& l : listeners) w.sample(listener_labels(l), l.accepted);
    w.begin("pier_connections_rejected_total", "counter",
            "Connections closed at once because a limit was reached.");
    for (const auto& l : listeners)
        write_by_reason<net::reject_reason>(w, listener_labels(l), l.rejected_by);
    w.begin("pier_connections_closed_total", "counter",
            "Admitted connections that ended, by who ended them.");
    for (const auto& l : listeners)
        write_by_reason<net::stop_reason>(w, listener_labels(l), l.closed_by);
    w.begin("pier_accept_errors_total", "counter", "Failed accept() calls (EMFILE, ...).");
    for (const auto& l : listeners) w.sample(listener_labels(l), l.accept_errors);
    w.begin("pier_proxy_protocol_errors_total", "counter",
            "accept_proxy: connections closed for a missing or malformed PROXY header.");
    for (const auto& l : listeners) w.sample(listener_labels(l), l.proxy_header_errors);
    w.begin("pier_tls_handshakes_total", "counter",
            "TLS handshakes by result: done, failed (the client's TLS refused), abandoned (the "
            "client left or was cut before the end).");
    for (const auto& l : listeners) {
        w.sample(listener_labels(l) + ",result=\"done\"", l.tls_handshakes);
        w.sample(listener_labels(l) + ",result=\"failed\"", l.tls_handshake_errors);
        w.sample(listener_labels(l) + ",result=\"abandoned\"", l.tls_handshakes_abandoned);
    }
    w.begin("pier_tls_certificate_expiry_timestamp_seconds", "gauge",
            "TLS listeners: when the certificate new handshakes get expires (its notAfter), so "
            "an alert can fire before it lapses.");
    for (const auto& l : listeners) {
        if (l.certificate_expiry) w.sample(listener_labels(l), *l.certificate_expiry);
    }
    w.begin("pier_received_bytes_total", "counter", "Bytes read from clients.");
    for (const auto& l : listeners) w.sample(listener_labels(l), l.traffic.bytes_in);
    w.begin("pier_sent_bytes_total", "counter", "Bytes written to clients.");
    for (const auto& l : listeners) w.sample(listener_labels(l), l.traffic.bytes_out);
    const auto handler_labels = [](const listener_snapshot& l) {
        return listener_labels(l) + fmt::format(",handler=\"{}\"", config::to_string(l.handler));
    };
    w.begin("pier_requests_total", "counter",
            "Requests served (echo: reads echoed; synthetic: request lines).");
    for (const auto& l : listeners) w.sample(handler_labels(l), l.traffic.requests);
    w.begin("pier_handler_errors_total", "counter",
            "Requests answered with an error (malformed input from the client).");
    for (const auto& l : listeners) w.sample(handler_labels(l), l.traffic.handler_errors);
}

/// A histogram bound as client libraries write it: "0.005", "1.0" (never "1").
std::string bucket_bound(double bound) {
    auto text = fmt::format("{}", bound);
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    return text;
}

void write_proxies(family_writer& w, const std::vector<listener_snapshot>& listeners) {
    std::vector<const listener_snapshot*> proxies;
    for (const auto& l : listeners) {
        if (l.proxy) proxies.push_back(&l);
    }
    if (proxies.empty()) return;
    w.begin("pier_proxy_clients_refused_total", "counter",
            "Proxy clients closed without a relay: every upstream ejected, or every connect "
            "tried failed.");
    for (const auto* l : proxies) {
        const auto labels = listener_labels(*l);
        w.sample(labels + ",reason=\"no_upstream\"", l->proxy_no_upstream);
        w.sample(labels + ",reason=\"connect_failed\"", l->proxy_connect_failed);
    }
    using upstream = handlers::proxy::upstream_snapshot;
    const auto labels = [](const listener_snapshot& l, const upstream& u) {
        return listener_labels(l) + fmt::format(",upstream=\"{}\"", escape_label(u.address));
    };
    struct figure {
        const char* name;
        const char* type;
        const char* help;
        std::uint64_t (*value)(const upstream&);
    };
    static constexpr figure figures[] = {
        {"pier_upstream_up", "gauge",
         "1 while the upstream takes new connections, 0 ejected or down by health checks.",
         [](const upstream& u) -> std::uint64_t { return u.available ? 1 : 0; }},
        {"pier_upstream_connections_active", "gauge", "Connections relayed to the upstream now.",
         [](const upstream& u) { return u.active; }},
        {"pier_upstream_connects_total", "counter", "Successful connects to the upstream.",
         [](const upstream& u) { return u.connects; }},
        {"pier_upstream_connect_failures_total", "counter",
         "Failed connects (refused, reset, timed out).",
         [](const upstream& u) { return u.connect_failures; }},
        {"pier_upstream_ejections_total", "counter",
         "Times max_fails failures in a row took the upstream out of rotation.",
         [](const upstream& u) { return u.ejections; }},
        {"pier_upstream_health_checks_total", "counter",
         "Active health check probes with a verdict (passed or failed).",
         [](const upstream& u) { return u.health_checks; }},
        {"pier_upstream_health_check_failures_total", "counter",
         "Active health check probes that failed.",
         [](const upstream& u) { return u.health_check_failures; }},
        {"pier_upstream_sent_bytes_total", "counter", "Bytes relayed to the upstream.",
         [](const upstream& u) { return u.bytes_sent; }},
        {"pier_upstream_received_bytes_total", "counter", "Bytes relayed from the upstream.",
         [](const upstream& u) { return u.bytes_received; }},
    };
    for (const auto& f : figures) {
        w.begin(f.name, f.type, f.help);
        for (const auto* l : proxies) {
            for (const auto& u : l->upstreams) w.sample(labels(*l, u), f.value(u));
        }
    }
    w.begin("pier_upstream_connect_seconds", "histogram", "Time to connect to the upstream.");
    for (const auto* l : proxies) {
        for (const auto& u : l->upstreams) {
            const auto base = labels(*l, u);
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i < handlers::proxy::connect_buckets.size(); ++i) {
                cumulative += u.connect_latency_counts[i];
                w.sample_of(
                    "_bucket",
                    base + ",le=\"" + bucket_bound(handlers::proxy::connect_buckets[i]) + "\"",
                    cumulative);
            }
            cumulative += u.connect_latency_counts.back();
            w.sample_of("_bucket", base + ",le=\"+Inf\"", cumulative);
            w.sample_of("_sum", base, u.connect_latency_sum_seconds);
            w.sample_of("_count", base, cumulative);
        }
    }
}

void write_workers(family_writer& w, const std::vector<worker_snapshot>& workers) {
    const auto label = [](std::size_t i) { return fmt::format("worker=\"{}\"", i); };
    w.begin("pier_worker_connections", "gauge", "Live connections homed on each worker.");
    for (std::size_t i = 0; i < workers.size(); ++i)
        w.sample(label(i), workers[i].live_connections);
    if (workers.empty() || !workers.front().scheduler_metrics)
        return;  // pinned: no scheduler figures

    struct counter {
        const char* name;
        const char* help;
        std::uint64_t runtime::worker_metrics::*field;
    };
    static constexpr counter counters[] = {
        {"pier_worker_tasks_total", "Tasks the worker ran.", &runtime::worker_metrics::tasks_run},
        {"pier_worker_steals_total", "Times the worker took queued tasks from another.",
         &runtime::worker_metrics::steals},
        {"pier_worker_tasks_stolen_total", "Tasks the worker took from others.",
         &runtime::worker_metrics::tasks_stolen},
        {"pier_worker_io_steals_total", "Socket events of a stuck worker this worker served.",
         &runtime::worker_metrics::io_steals},
        {"pier_worker_parks_total", "Times the worker ran out of work.",
         &runtime::worker_metrics::parks},
        {"pier_worker_unparks_total", "Times another thread woke the worker for queued work.",
         &runtime::worker_metrics::unparks},
        {"pier_worker_inject_pushes_total", "Tasks the worker moved to the shared queue.",
         &runtime::worker_metrics::inject_pushes},
    };
    for (const auto& c : counters) {
        w.begin(c.name, "counter", c.help);
        for (std::size_t i = 0; i < workers.size(); ++i) {
            w.sample(label(i), (*workers[i].scheduler_metrics).*c.field);
        }
    }
    w.begin("pier_worker_local_queue_depth", "gauge", "Tasks queued on the worker.");
    for (std::size_t i = 0; i < workers.size(); ++i) {
        w.sample(label(i), workers[i].scheduler_metrics->local_queue_depth);
    }
}

void write_process(family_writer& w, const process_snapshot& p) {
    w.begin("process_cpu_seconds_total", "counter", "User and system CPU time spent.");
    w.sample("", p.cpu_seconds);
    w.begin("process_resident_memory_bytes", "gauge", "Resident memory size.");
    w.sample("", p.resident_bytes);
    w.begin("process_open_fds", "gauge", "Open file descriptors.");
    w.sample("", p.open_fds);
    w.begin("process_max_fds", "gauge", "Limit on open file descriptors.");
    w.sample("", p.max_fds);
    w.begin("process_start_time_seconds", "gauge", "Start time since the Unix epoch.");
    w.sample("", p.start_time_seconds);
}

/// Fields of /proc/self/stat after the command name (which may hold spaces), 0-based from
/// field 3 ("state").
std::vector<std::string> stat_fields() {
    std::ifstream in("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto end_of_name = text.rfind(')');
    std::vector<std::string> fields;
    if (end_of_name == std::string::npos) return fields;
    std::istringstream rest(text.substr(end_of_name + 1));
    for (std::string field; rest >> field;) fields.push_back(field);
    return fields;
}

std::uint64_t count_open_fds() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return 0;
    std::uint64_t n = 0;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.') ++n;
    }
    ::closedir(dir);
    return n > 0 ? n - 1 : 0;  // the directory stream's own descriptor
}

/// When this process started, taken as the program loads (before main). Not derived from
/// /proc/stat's boot time: the systemd unit's ProcSubset=pid hides that file.
const double process_start_seconds =
    std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

// Named as Prometheus names its own (prometheus_config_last_reload_successful, ...).
void write_reload(family_writer& w, const reload_snapshot& r) {
    w.begin("pier_config_reloads_total", "counter", "Config reloads (SIGHUP), by result.");
    w.sample("result=\"success\"", r.succeeded);
    w.sample("result=\"failure\"", r.failed);
    w.begin("pier_config_last_reload_successful", "gauge",
            "1 if the last reload applied (or none was tried), 0 if it failed.");
    w.sample("", r.last_ok ? 1 : 0);
    w.begin("pier_config_last_reload_success_timestamp_seconds", "gauge",
            "When the config in force was loaded (start or last successful reload).");
    w.sample("", r.last_success_time_seconds);
    w.begin("pier_config_restart_required", "gauge",
            "1 if the config in force has a change only a restart applies (runtime, admin).");
    w.sample("", r.restart_pending ? 1 : 0);
}

}  // namespace

std::string format_prometheus(const metrics_snapshot& snapshot) {
    std::string out;
    family_writer w(out);
    w.begin("pier_build_info", "gauge", "pierd's version and scheduler; always 1.");
    w.sample(fmt::format("version=\"{}\",scheduler=\"{}\"", escape_label(snapshot.version),
                         escape_label(snapshot.scheduler)),
             1);
    w.begin("pier_ready", "gauge", "1 while listeners are bound and not draining (/readyz).");
    w.sample("", snapshot.ready ? 1 : 0);
    write_reload(w, snapshot.reload);
    write_listeners(w, snapshot.listeners);
    write_proxies(w, snapshot.listeners);
    write_workers(w, snapshot.workers);
    write_process(w, snapshot.process);
    return out;
}

process_snapshot read_process_snapshot() {
    process_snapshot p;
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const auto fields = stat_fields();
    // stat(5): utime and stime are fields 14 and 15, rss (pages) 24; here index 0 is field 3.
    if (fields.size() > 21 && ticks > 0) {
        p.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
        p.resident_bytes =
            std::stoull(fields[21]) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    }
    p.start_time_seconds = process_start_seconds;
    p.open_fds = count_open_fds();
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) p.max_fds = limit.rlim_cur;
    return p;
}

}  // namespace pier::admin
