#include "pier/daemon/config_diff.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "pier/config/units.hpp"

namespace pier::daemon {
namespace {

using config::listener_config;

// How each kind of value is written in a change, as an operator would write it in YAML.
std::string text(const std::string& v) { return v; }
std::string text(unsigned v) { return std::to_string(v); }
std::string text(std::uint64_t v) { return std::to_string(v); }
std::string text(bool v) { return v ? "true" : "false"; }
std::string text(std::chrono::nanoseconds v) { return config::format_duration(v); }
std::string text(const config::listen_address& v) { return v.to_string(); }
template <config::named_enum Enum>
std::string text(Enum v) {
    return std::string(config::to_string(v));
}
std::string text(const std::optional<std::chrono::nanoseconds>& v) {
    return v ? text(*v) : "unset";
}
std::string text(const std::vector<config::upstream_config>& upstreams) {
    std::string out = "[";
    for (const auto& u : upstreams) {
        if (out.size() > 1) out += ", ";
        out += u.address.to_string();
        if (u.weight != 1) out += " weight=" + std::to_string(u.weight);
    }
    return out + "]";
}
std::string text(const std::optional<config::health_check_config>& v) {
    if (!v) return "off";
    return fmt::format(
        "{{interval {}, timeout {}, rise {}, fall {}, send {} bytes, expect {} bytes}}",
        text(v->interval), text(v->timeout), v->rise, v->fall, v->send.size(), v->expect.size());
}

/// Appends "key: old -> new" when the values differ.
template <typename T>
void note(std::vector<std::string>& changes, std::string_view key, const T& before,
          const T& after) {
    if (before != after)
        changes.push_back(fmt::format("{}: {} -> {}", key, text(before), text(after)));
}

std::vector<std::string> listener_changes(const listener_config& a, const listener_config& b) {
    std::vector<std::string> changes;
    note(changes, "listen", a.listen, b.listen);
    note(changes, "backlog", a.backlog, b.backlog);
    note(changes, "handler", a.handler, b.handler);
    note(changes, "max_connections", a.max_connections, b.max_connections);
    note(changes, "max_connections_per_ip", a.max_connections_per_ip, b.max_connections_per_ip);
    note(changes, "idle_timeout", a.idle_timeout, b.idle_timeout);
    note(changes, "write_timeout", a.write_timeout, b.write_timeout);
    note(changes, "request_timeout", a.request_timeout, b.request_timeout);
    note(changes, "accept_proxy", a.accept_proxy, b.accept_proxy);
    note(changes, "echo.max_buffer", a.echo.max_buffer, b.echo.max_buffer);
    note(changes, "synthetic.cpu", a.synthetic.cpu, b.synthetic.cpu);
    note(changes, "synthetic.delay", a.synthetic.delay, b.synthetic.delay);
    note(changes, "synthetic.response_bytes", a.synthetic.response_bytes,
         b.synthetic.response_bytes);
    note(changes, "synthetic.max_line", a.synthetic.max_line, b.synthetic.max_line);
    const auto& p = a.proxy;
    const auto& q = b.proxy;
    note(changes, "proxy.upstreams", p.upstreams, q.upstreams);
    note(changes, "proxy.balance", p.balance, q.balance);
    note(changes, "proxy.connect_timeout", p.connect_timeout, q.connect_timeout);
    note(changes, "proxy.retries", p.retries, q.retries);
    note(changes, "proxy.idle_timeout", p.idle_timeout, q.idle_timeout);
    note(changes, "proxy.half_close_timeout", p.half_close_timeout, q.half_close_timeout);
    note(changes, "proxy.max_buffer", p.max_buffer, q.max_buffer);
    note(changes, "proxy.max_fails", p.max_fails, q.max_fails);
    note(changes, "proxy.fail_timeout", p.fail_timeout, q.fail_timeout);
    note(changes, "proxy.send_proxy", p.send_proxy, q.send_proxy);
    note(changes, "proxy.health_check", p.health_check, q.health_check);
    return changes;
}

/// Appends "<section>: settings changed" when `before` and `after` differ although no key of
/// the section was noted after the first `noted` changes: a field this summary does not name
/// yet still shows (and still counts as needing a restart where its section does).
template <typename Section>
void note_unnamed(std::vector<std::string>& changes, std::size_t noted, std::string_view section,
                  const Section& before, const Section& after) {
    if (changes.size() == noted && before != after) {
        changes.push_back(fmt::format("{}: settings changed", section));
    }
}

/// Not `find`: its std-typed arguments make every call look in std as well.
const listener_config* find_listener(const std::vector<listener_config>& listeners,
                                     const std::string& name) {
    const auto it = std::find_if(listeners.begin(), listeners.end(),
                                 [&](const listener_config& l) { return l.name == name; });
    return it == listeners.end() ? nullptr : &*it;
}

}  // namespace

config_diff diff_configs(const config::config& running, const config::config& next) {
    config_diff diff;
    for (const auto& after : next.listeners) {
        const auto* before = find_listener(running.listeners, after.name);
        if (before == nullptr) {
            diff.added.push_back(after);
        } else if (*before != after) {
            auto changes = listener_changes(*before, after);
            // A field added to listener_config but not to listener_changes() still counts.
            if (changes.empty()) changes.emplace_back("settings changed");
            diff.changed.push_back(
                {*before, after, before->listen != after.listen, std::move(changes)});
        }
    }
    for (const auto& before : running.listeners) {
        if (find_listener(next.listeners, before.name) == nullptr) diff.removed.push_back(before);
    }

    auto& live = diff.applied_globally;
    note(live, "log.level", running.log.level, next.log.level);
    note(live, "log.format", running.log.format, next.log.format);
    note_unnamed(live, 0, "log", running.log, next.log);
    std::size_t noted = live.size();
    note(live, "limits.max_connections", running.limits.max_connections,
         next.limits.max_connections);
    note_unnamed(live, noted, "limits", running.limits, next.limits);
    noted = live.size();
    note(live, "shutdown.drain_timeout", running.shutdown.drain_timeout,
         next.shutdown.drain_timeout);
    note_unnamed(live, noted, "shutdown", running.shutdown, next.shutdown);

    // The worker pool is built once; the admin endpoint's socket and thread likewise.
    auto& later = diff.need_restart;
    const auto threads = [](unsigned n) { return n == 0 ? std::string("auto") : text(n); };
    note(later, "runtime.threads", threads(running.runtime.threads), threads(next.runtime.threads));
    note(later, "runtime.scheduler", running.runtime.scheduler, next.runtime.scheduler);
    note(later, "runtime.busy_polling", running.runtime.busy_polling, next.runtime.busy_polling);
    note_unnamed(later, 0, "runtime", running.runtime, next.runtime);
    note(later, "admin.enabled", running.admin.enabled, next.admin.enabled);
    if (running.admin.enabled && next.admin.enabled) {
        noted = later.size();
        note(later, "admin.listen", running.admin.listen, next.admin.listen);
        note(later, "admin.max_connections", running.admin.max_connections,
             next.admin.max_connections);
        note(later, "admin.timeout", running.admin.timeout, next.admin.timeout);
        note(later, "admin.keepalive_timeout", running.admin.keepalive_timeout,
             next.admin.keepalive_timeout);
        note_unnamed(later, noted, "admin", running.admin, next.admin);
    }
    return diff;
}

}  // namespace pier::daemon
