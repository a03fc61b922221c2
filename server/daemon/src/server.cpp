#include "pier/daemon/server.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include <fmt/ostream.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "pier/config/units.hpp"
#include "pier/daemon/socket_activation.hpp"
#include "pier/handlers/registry.hpp"
#include "pier/runtime/clock.hpp"
#include "pier/version.hpp"

namespace pier::daemon {

using namespace std::chrono_literals;

namespace {

double unix_time_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Aborted tasks end at their next resumption, so cancelling is quick; this bound only guards
/// against a handler that awaits something cancellation cannot reach.
constexpr auto cancel_grace = 10s;

}  // namespace

std::size_t worker_count(const config::runtime_config& cfg) {
    if (cfg.threads > 0) return cfg.threads;
    const unsigned hardware = std::thread::hardware_concurrency();
    return hardware > 0 ? hardware : 1;
}

server::server(config::config cfg, tls_contexts tls)
    : config_(std::move(cfg)),
      pool_(worker_count(config_.runtime), config_.runtime.scheduler, {},
            config_.runtime.busy_polling),
      global_cap_(config_.limits.max_connections) {
    auto inherited = take_inherited_sockets();
    for (const auto& listener_cfg : config_.listeners) {
        int fd = -1;
        if (const auto match = match_inherited_socket(listener_cfg, inherited)) {
            fd = std::exchange(inherited[*match].fd, -1);
        }
        listeners_.push_back(make_listener(listener_cfg, fd, tls));
    }
    for (const auto& unused : inherited) {
        if (unused.fd < 0) continue;
        spdlog::warn(
            "inherited socket matches no listener fd={} name={}; closing it (name it like a "
            "listener with FileDescriptorName=, or bind it to a listener's address)",
            unused.fd, unused.name);
        ::close(unused.fd);
    }
    if (config_.admin.enabled) {
        admin_ = std::make_unique<admin::admin_server>(
            config_.admin, admin::admin_sources{[this] { return ready(); },
                                                [this] { return metrics_snapshot(); }});
    }
}

server::~server() { shutdown(); }

namespace {

/// The listener's TLS context; one that should have a context and has none is the caller's
/// mistake (it skipped load_tls_contexts()), never served as plain TCP.
std::shared_ptr<const tls::server_context> tls_for(const config::listener_config& cfg,
                                                   const tls_contexts& tls) {
    auto context = tls.for_listener(cfg.name);
    if (cfg.tls && !context) {
        throw std::invalid_argument("listener \"" + cfg.name + "\" has tls but no TLS context");
    }
    return context;
}

}  // namespace

std::unique_ptr<net::listener> server::make_listener(const config::listener_config& cfg, int fd,
                                                     const tls_contexts& tls) {
    return std::make_unique<net::listener>(cfg, pool_, handlers::make_handler(cfg),
                                           tls_for(cfg, tls), &global_cap_, fd);
}

void server::start() {
    if (started_) throw std::logic_error("server already started");
    started_ = true;
    pool_.start();
    spdlog::info("workers started threads={} scheduler={}", pool_.size(),
                 config::to_string(pool_.kind()));
    for (auto& l : listeners_) l->start();
    if (admin_) admin_->start();
    // Every listener takes a slot of the global cap per connection (counted with or without
    // a limit), so it sees the peak of a burst that came and went between two ticks.
    give_back_.emplace([this] {
        return connection_counts{.open = global_cap_.in_use(),
                                 .most_open = global_cap_.take_peak()};
    });
    last_reload_success_time_.store(unix_time_now(), std::memory_order_relaxed);
    ready_.store(true, std::memory_order_release);
}

server::reload_outcome server::reload(config::config next, tls_contexts tls) {
    if (!started_ || stopped_) throw std::logic_error("reload needs a running server");
    reap_retired();
    auto diff = diff_configs(config_, next);
    reload_outcome outcome;
    outcome.need_restart = diff.need_restart;
    keep_inherited_sockets(diff, next, outcome.need_restart);

    // 2. Bind first: a socket that cannot be bound fails the reload before anything changed.
    std::vector<std::unique_ptr<net::listener>> added;
    std::vector<std::optional<net::tcp::acceptor>> replacements(diff.changed.size());
    try {
        for (const auto& cfg : diff.added) added.push_back(make_listener(cfg, -1, tls));
        for (std::size_t i = 0; i < diff.changed.size(); ++i) {
            const auto& change = diff.changed[i];
            if (change.rebind) {
                replacements[i] = listener(change.after.name).bind_replacement(change.after);
            }
        }
    } catch (const net::bind_error& e) {
        outcome.errors.emplace_back(e.what());
        record_reload(false);
        return outcome;
    }

    // 3. Apply.
    if (diff.empty()) spdlog::info("reload: nothing to apply");
    for (const auto& change : diff.applied_globally) spdlog::info("reload: {}", change);
    global_cap_.set_limit(next.limits.max_connections);
    // Every kept listener's TLS, changed in the config or not: the files were read again.
    for (const auto& cfg : next.listeners) {
        const bool added_now = std::any_of(diff.added.begin(), diff.added.end(),
                                           [&](const auto& a) { return a.name == cfg.name; });
        if (!added_now) listener(cfg.name).use_tls(tls_for(cfg, tls));
    }
    for (std::size_t i = 0; i < diff.changed.size(); ++i) {
        const auto& change = diff.changed[i];
        auto& l = listener(change.after.name);
        l.reconfigure(change.after, handlers::make_handler(change.after, l.current_handler().get()),
                      std::move(replacements[i]));
        spdlog::info("reload: listener changed listener={} addr={} changes=\"{}\"", l.name(),
                     fmt::streamed(l.local_endpoint()), fmt::join(change.changes, "; "));
    }
    for (auto& l : added) {
        l->start();
        spdlog::info("reload: listener added listener={}", l->name());
        std::lock_guard lock(listeners_mutex_);
        listeners_.push_back(std::move(l));
    }
    for (const auto& cfg : diff.removed) retire(cfg.name, next.shutdown.drain_timeout);
    for (const auto& change : outcome.need_restart) {
        spdlog::warn("reload: needs a restart to apply {}", change);
    }
    // What cannot change live keeps describing what runs, so the next reload reports it again.
    next.runtime = config_.runtime;
    next.admin = config_.admin;
    config_ = std::move(next);
    restart_pending_.store(!outcome.need_restart.empty(), std::memory_order_relaxed);
    outcome.applied = true;
    record_reload(true);
    return outcome;
}

void server::keep_inherited_sockets(config_diff& diff, config::config& next,
                                    std::vector<std::string>& need_restart) {
    // systemd owns an inherited socket: its address and backlog are pier.socket's to change.
    // The running values stay in the config, so the next reload still reports the difference.
    for (auto& change : diff.changed) {
        if (!listener(change.after.name).adopted()) continue;
        auto& after = change.after;
        const auto keep = [&](auto member, std::string_view key) {
            if (after.*member == change.before.*member) return;
            need_restart.push_back(
                fmt::format("listeners.{}.{} (the socket comes from systemd: change pier.socket)",
                            after.name, key));
            after.*member = change.before.*member;
        };
        keep(&config::listener_config::listen, "listen");
        keep(&config::listener_config::backlog, "backlog");
        change.rebind = false;
        for (auto& l : next.listeners) {
            if (l.name == after.name) l = after;
        }
    }
}

void server::count_failed_reload() { record_reload(false); }

void server::record_reload(bool success) {
    (success ? reloads_succeeded_ : reloads_failed_).fetch_add(1, std::memory_order_relaxed);
    last_reload_ok_.store(success, std::memory_order_relaxed);
    if (success) last_reload_success_time_.store(unix_time_now(), std::memory_order_relaxed);
}

void server::retire(const std::string& name, std::chrono::nanoseconds timeout) {
    auto& l = listener(name);
    l.stop_accepting();
    auto& connections = l.connections();
    spdlog::info("reload: listener removed listener={} draining connections={} timeout={}", name,
                 connections.size(), config::format_duration(timeout));
    connections.request_stop_all(net::stop_reason::drain);

    auto entry = std::make_unique<retiring_listener>();
    // A thread per removed listener waits out its drain, so the controlling thread stays free
    // for signals and the watchdog meanwhile; shutdown() joins what is left. Started before
    // the listener moves: if the thread cannot start, the listener stays where it was.
    entry->drain =
        std::jthread([&l, &drained = entry->drained, deadline = runtime::clock::now() + timeout] {
            auto& set = l.connections();
            if (!set.wait_drained_until(deadline)) {
                spdlog::info("reload: drain timeout passed, cancelling listener={} connections={}",
                             l.name(), set.size());
                set.request_stop_all(net::stop_reason::drain_timeout);
                if (!set.wait_empty_until(std::chrono::steady_clock::now() + cancel_grace)) {
                    spdlog::error("reload: tasks ignored cancellation listener={} connections={}",
                                  l.name(), set.size());
                    return;  // never reaped: the tasks still use the listener
                }
            }
            spdlog::info("reload: removed listener drained listener={}", l.name());
            drained.store(true, std::memory_order_release);
        });
    // One step under the lock, so /metrics never misses the listener in between.
    std::lock_guard lock(listeners_mutex_);
    const auto it = std::find_if(listeners_.begin(), listeners_.end(),
                                 [&](const auto& p) { return p.get() == &l; });
    entry->listener = std::move(*it);
    listeners_.erase(it);
    retiring_.push_back(std::move(entry));
}

void server::reap_retired() {
    std::vector<std::unique_ptr<retiring_listener>> done;
    {
        std::lock_guard lock(listeners_mutex_);
        const auto finished = std::stable_partition(
            retiring_.begin(), retiring_.end(),
            [](const auto& r) { return !r->drained.load(std::memory_order_acquire); });
        std::move(finished, retiring_.end(), std::back_inserter(done));
        retiring_.erase(finished, retiring_.end());
    }
    // Destroyed outside the lock: each joins a thread that has already finished its work.
}

net::listener& server::listener(std::string_view name) {
    for (auto& l : listeners_) {
        if (l->name() == name) return *l;
    }
    throw std::out_of_range("no listener named " + std::string(name));
}

std::vector<net::connection_set*> server::all_connection_sets() {
    std::vector<net::connection_set*> sets;
    for (auto& l : listeners_) sets.push_back(&l->connections());
    for (auto& r : retiring_) sets.push_back(&r->listener->connections());
    return sets;
}

std::size_t server::open_connections() {
    std::size_t open = 0;
    for (auto* set : all_connection_sets()) open += set->size();
    return open;
}

void server::shutdown(std::stop_token cut_drain) {
    if (stopped_) return;
    stopped_ = true;
    if (!started_) return;  // nothing runs; the destructors close the acceptors

    ready_.store(false, std::memory_order_release);

    // 1. Stop accepting.
    spdlog::info("shutdown: stop accepting listeners={}", listeners_.size());
    for (auto& l : listeners_) l->stop_accepting();

    // 2. Drain.
    const auto timeout = config_.shutdown.drain_timeout;
    spdlog::info("shutdown: draining connections={} timeout={}", open_connections(),
                 config::format_duration(timeout));
    // Listeners a reload removed are still draining: they share this deadline.
    const auto sets = all_connection_sets();
    for (auto* set : sets) set->request_stop_all(net::stop_reason::drain);

    // 3. Wait, bounded by the drain timeout shared by all listeners.
    const auto deadline = runtime::clock::now() + timeout;
    bool drained = true;
    for (auto* set : sets) drained = set->wait_drained_until(deadline, cut_drain) && drained;

    // 4. Cancel the rest.
    if (!drained) {
        spdlog::info("shutdown: {}, cancelling connections={}",
                     cut_drain.stop_requested() ? "drain cut short by a second signal"
                                                : "drain timeout passed",
                     open_connections());
        for (auto* set : sets) set->request_stop_all(net::stop_reason::drain_timeout);
        const auto cancel_deadline = std::chrono::steady_clock::now() + cancel_grace;
        for (auto* set : sets) {
            if (!set->wait_empty_until(cancel_deadline)) {
                spdlog::error("shutdown: tasks ignored cancellation connections={}", set->size());
                // 5'. Stop the workers outright; what is left is destroyed with the pool.
                if (admin_) admin_->stop();
                pool_.abort();
                spdlog::info("shutdown: complete (forced)");
                return;
            }
        }
    }

    // 5. Stop the workers. Every removed listener's drain thread has returned or is about to.
    reap_retired();
    if (admin_) admin_->stop();
    spdlog::info("shutdown: stopping workers");
    pool_.stop();
    log_scheduler_totals();
    spdlog::info("shutdown: complete");
}

admin::metrics_snapshot server::metrics_snapshot() {
    admin::metrics_snapshot snapshot;
    snapshot.version = pier::version;
    snapshot.scheduler = std::string(config::to_string(pool_.kind()));
    snapshot.ready = ready();
    snapshot.reload = {reloads_succeeded_.load(std::memory_order_relaxed),
                       reloads_failed_.load(std::memory_order_relaxed),
                       last_reload_ok_.load(std::memory_order_relaxed),
                       last_reload_success_time_.load(std::memory_order_relaxed),
                       restart_pending_.load(std::memory_order_relaxed)};
    std::lock_guard lock(listeners_mutex_);
    std::vector<net::listener*> shown;
    for (auto& l : listeners_) shown.push_back(l.get());
    // A removed listener still draining stays visible until its last connection ends, unless
    // a listener of the same name took its place: one series per name.
    // Newest first, so of several retiring listeners with one name the newest is shown.
    for (auto r = retiring_.rbegin(); r != retiring_.rend(); ++r) {
        auto* l = (*r)->listener.get();
        const bool named = std::any_of(shown.begin(), shown.end(),
                                       [&](const auto* s) { return s->name() == l->name(); });
        if (!named && l->connections().size() > 0) shown.push_back(l);
    }
    for (auto* l : shown) {
        const auto& stats = l->stats();
        admin::listener_snapshot s;
        s.name = l->name();
        s.handler = l->handler_kind();
        const auto load = [](const std::atomic<std::uint64_t>& c) {
            return c.load(std::memory_order_relaxed);
        };
        s.active = load(stats.active);
        s.accepted = load(stats.accepted);
        for (std::size_t i = 0; i < s.rejected_by.size(); ++i) {
            s.rejected_by[i] = load(stats.rejected_by[i]);
        }
        s.accept_errors = load(stats.accept_errors);
        s.proxy_header_errors = load(stats.proxy_header_errors);
        s.tls_handshakes = load(stats.tls_handshakes);
        s.tls_handshake_errors = load(stats.tls_handshake_errors);
        s.tls_handshakes_abandoned = load(stats.tls_handshakes_abandoned);
        if (const auto tls = l->current_tls()) s.certificate_expiry = tls->certificate_expiry();
        for (std::size_t i = 0; i < s.closed_by.size(); ++i)
            s.closed_by[i] = load(stats.closed_by[i]);
        s.traffic = l->connections().traffic();
        const auto handler = l->current_handler();
        if (auto* upstreams = handlers::upstreams_of(*handler)) {
            auto& group = *upstreams;
            s.proxy = true;
            s.upstreams = group.snapshot(std::chrono::steady_clock::now());
            s.proxy_no_upstream = group.counters().no_upstream.load(std::memory_order_relaxed);
            s.proxy_connect_failed =
                group.counters().connect_failed.load(std::memory_order_relaxed);
        }
        snapshot.listeners.push_back(std::move(s));
    }
    auto* stealing = pool_.stealing_scheduler();
    for (std::size_t i = 0; i < pool_.size(); ++i) {
        admin::worker_snapshot w;
        w.live_connections = pool_.live_connections(i);
        if (stealing != nullptr) w.scheduler_metrics = stealing->metrics(i);
        snapshot.workers.push_back(w);
    }
    snapshot.process = admin::read_process_snapshot();
    return snapshot;
}

void server::log_scheduler_totals() {
    // What the work-stealing scheduler did over the process's life: how often work moved
    // between workers shows whether stealing paid (/metrics has the same figures live).
    auto* stealing = pool_.stealing_scheduler();
    if (stealing == nullptr) return;
    for (std::size_t i = 0; i < stealing->size(); ++i) {
        const auto m = stealing->metrics(i);
        spdlog::info(
            "worker totals worker={} tasks_run={} steals={} tasks_stolen={} io_steals={} "
            "parks={} unparks={} inject_pushes={}",
            i, m.tasks_run, m.steals, m.tasks_stolen, m.io_steals, m.parks, m.unparks,
            m.inject_pushes);
    }
}

}  // namespace pier::daemon
