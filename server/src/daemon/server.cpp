#include "pier/daemon/server.hpp"

#include <unistd.h>

#include <stdexcept>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "pier/config/units.hpp"
#include "pier/daemon/socket_activation.hpp"
#include "pier/handlers/registry.hpp"
#include "pier/version.hpp"

namespace pier::daemon {

using namespace std::chrono_literals;

std::size_t worker_count(const config::runtime_config& cfg) {
    if (cfg.threads > 0) return cfg.threads;
    const unsigned hardware = std::thread::hardware_concurrency();
    return hardware > 0 ? hardware : 1;
}

server::server(config::config cfg)
    : config_(std::move(cfg)),
      pool_(worker_count(config_.runtime), config_.runtime.scheduler),
      global_cap_(config_.limits.max_connections) {
    auto inherited = take_inherited_sockets();
    for (const auto& listener_cfg : config_.listeners) {
        int fd = -1;
        if (const auto match = match_inherited_socket(listener_cfg, inherited)) {
            fd = std::exchange(inherited[*match].fd, -1);
        }
        listeners_.push_back(std::make_unique<net::listener>(
            listener_cfg, pool_, handlers::make_handler(listener_cfg),
            config_.limits.max_connections > 0 ? &global_cap_ : nullptr, fd));
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

void server::start() {
    if (started_) throw std::logic_error("server already started");
    started_ = true;
    pool_.start();
    spdlog::info("workers started threads={} scheduler={}", pool_.size(),
                 config::to_string(pool_.kind()));
    for (auto& l : listeners_) l->start();
    if (admin_) admin_->start();
    ready_.store(true, std::memory_order_release);
}

net::listener& server::listener(std::string_view name) {
    for (auto& l : listeners_) {
        if (l->name() == name) return *l;
    }
    throw std::out_of_range("no listener named " + std::string(name));
}

std::size_t server::open_connections() {
    std::size_t open = 0;
    for (auto& l : listeners_) open += l->connections().size();
    return open;
}

void server::shutdown() {
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
    for (auto& l : listeners_) l->connections().request_stop_all(net::stop_reason::drain);

    // 3. Wait, bounded by the drain timeout shared by all listeners.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool drained = true;
    for (auto& l : listeners_) drained = l->connections().wait_empty_until(deadline) && drained;

    // 4. Cancel the rest.
    if (!drained) {
        spdlog::info("shutdown: drain timeout passed, cancelling connections={}",
                     open_connections());
        for (auto& l : listeners_) {
            l->connections().request_stop_all(net::stop_reason::shutdown);
        }
        // Aborted tasks end at their next resumption, so this is quick; the bound only guards
        // against a handler that awaits something cancellation cannot reach.
        const auto cancel_deadline = std::chrono::steady_clock::now() + 10s;
        for (auto& l : listeners_) {
            if (!l->connections().wait_empty_until(cancel_deadline)) {
                spdlog::error("shutdown: tasks ignored cancellation listener={} connections={}",
                              l->name(), l->connections().size());
                // 5'. Stop the workers outright; what is left is destroyed with the pool.
                if (admin_) admin_->stop();
                pool_.abort();
                spdlog::info("shutdown: complete (forced)");
                return;
            }
        }
    }

    // 5. Stop the workers.
    if (admin_) admin_->stop();
    spdlog::info("shutdown: stopping workers");
    pool_.stop();
    log_dispatcher_totals();
    spdlog::info("shutdown: complete");
}

admin::metrics_snapshot server::metrics_snapshot() {
    admin::metrics_snapshot snapshot;
    snapshot.version = pier::version;
    snapshot.scheduler = std::string(config::to_string(pool_.kind()));
    snapshot.ready = ready();
    for (const auto& l : listeners_) {
        const auto& stats = l->stats();
        admin::listener_snapshot s;
        s.name = l->name();
        s.handler = l->handler_name();
        const auto load = [](const std::atomic<std::uint64_t>& c) {
            return c.load(std::memory_order_relaxed);
        };
        s.active = load(stats.active);
        s.accepted = load(stats.accepted);
        s.rejected = load(stats.rejected);
        s.rejected_global = load(stats.rejected_global);
        s.rejected_per_ip = load(stats.rejected_per_ip);
        s.accept_errors = load(stats.accept_errors);
        s.closed_idle = load(stats.idle_closed);
        s.closed_write_timeout = load(stats.write_timeout_closed);
        s.closed_drain = load(stats.drain_closed);
        s.closed_shutdown = load(stats.shutdown_closed);
        const auto closed = load(stats.closed);
        const auto by_stop =
            s.closed_idle + s.closed_write_timeout + s.closed_drain + s.closed_shutdown;
        s.closed_by_peer = closed > by_stop ? closed - by_stop : 0;
        s.traffic = l->connections().traffic();
        snapshot.listeners.push_back(std::move(s));
    }
    auto* dispatcher = pool_.dispatcher();
    for (std::size_t i = 0; i < pool_.size(); ++i) {
        admin::worker_snapshot w;
        w.live_connections = pool_.live_connections(i);
        if (dispatcher != nullptr) w.dispatcher = dispatcher->metrics(i);
        snapshot.workers.push_back(w);
    }
    snapshot.process = admin::read_process_snapshot();
    return snapshot;
}

void server::log_dispatcher_totals() {
    // What the work-stealing dispatcher did over the process's life: how often work moved
    // between workers shows whether stealing paid (the admin endpoint will export these live).
    auto* dispatcher = pool_.dispatcher();
    if (dispatcher == nullptr) return;
    for (std::size_t i = 0; i < dispatcher->size(); ++i) {
        const auto m = dispatcher->metrics(i);
        spdlog::info(
            "worker totals worker={} tasks_run={} steals={} tasks_stolen={} io_steals={} "
            "parks={} unparks={} inject_pushes={}",
            i, m.tasks_run, m.steals, m.tasks_stolen, m.io_steals, m.parks, m.unparks,
            m.inject_pushes);
    }
}

}  // namespace pier::daemon
