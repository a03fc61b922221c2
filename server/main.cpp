// pierd: command line -> config -> logging -> server -> wait for a signal -> shutdown.
// Only wiring lives here; every decision is in the layers (ARCHITECTURE.md).
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <optional>
#include <vector>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "pier/admin/probe.hpp"
#include "pier/config/parse.hpp"
#include "pier/daemon/cli.hpp"
#include "pier/daemon/heartbeat.hpp"
#include "pier/daemon/memory_budget.hpp"
#include "pier/daemon/privileges.hpp"
#include "pier/daemon/reload.hpp"
#include "pier/daemon/resource_limits.hpp"
#include "pier/daemon/sd_notify.hpp"
#include "pier/daemon/second_signal.hpp"
#include "pier/daemon/server.hpp"
#include "pier/daemon/signal_loop.hpp"
#include "pier/daemon/signals.hpp"
#include "pier/daemon/tls_contexts.hpp"
#include "pier/log/logging.hpp"
#include "pier/log/rate_limiter.hpp"
#include "pier/runtime/open_file_limit.hpp"
#include "pier/version.hpp"

namespace {

namespace exit_code = pier::daemon::exit_code;

/// Prints the errors that stop the start (or fail --check-config); returns the exit code.
int config_errors(const std::filesystem::path& path,
                  const std::vector<pier::config::config_error>& errors) {
    for (const auto& line : pier::config::report_lines(errors)) std::cerr << line << '\n';
    std::cerr << path.string() << ": " << errors.size()
              << (errors.size() == 1 ? " error" : " errors") << '\n';
    return exit_code::config;
}

int run(const pier::daemon::cli_options& options) {
    auto loaded = pier::config::load_config(options.config_path);
    if (!loaded.ok()) return config_errors(options.config_path, loaded.errors);
    auto cfg = std::move(*loaded.value);
    // The files the config names (certificates and keys) are part of it: a bad one stops the
    // start and fails --check-config, with the key's position.
    auto tls = pier::daemon::load_tls_contexts(cfg);
    for (const auto& warning : tls.warnings) {
        std::cerr << "warning: " << warning.to_string() << '\n';
    }
    if (!tls.errors.empty()) return config_errors(options.config_path, tls.errors);
    const auto memory_warning =
        pier::daemon::buffer_memory_warning(cfg, pier::daemon::usable_memory());
    if (options.check_config) {
        std::cout << options.config_path.string() << ": ok (" << cfg.listeners.size()
                  << (cfg.listeners.size() == 1 ? " listener" : " listeners") << ")\n";
        if (memory_warning) {
            std::cerr << options.config_path.string() << ": warning: " << *memory_warning << '\n';
        }
        return exit_code::ok;
    }
    // After --check-config, which serves nothing and may run as anyone.
    if (const auto refusal = pier::daemon::refuse_root(::geteuid(), options.allow_root)) {
        std::cerr << "pierd: " << *refusal << '\n';
        return exit_code::usage;
    }
    if (options.log_level) cfg.log.level = *options.log_level;
    pier::log::configure_logging(cfg.log);
    if (::geteuid() == 0) {
        spdlog::warn("running as root (--allow-root): a bug pierd has would be root's");
    }

    // Before any thread exists, so only this thread receives them. SIGPIPE is ignored: a
    // closed stderr pipe (pierd | tee) must not kill the daemon.
    pier::daemon::block_daemon_signals();
    std::signal(SIGPIPE, SIG_IGN);
    spdlog::info("starting version={} config={} boost={} edge_reader={}", pier::version,
                 options.config_path.string(), pier::boost_version, pier::edge_reader_path);

    pier::runtime::raise_open_file_limit();
    pier::daemon::warn_if_open_file_limit_short(cfg, pier::daemon::worker_count(cfg.runtime));
    if (memory_warning) spdlog::warn("{}", *memory_warning);
    const auto notifier = pier::daemon::sd_notifier::from_environment();
    try {
        pier::daemon::server server(std::move(cfg), std::move(tls));
        server.start();
        spdlog::info("ready");
        if (notifier.enabled() &&
            !notifier.notify(fmt::format("READY=1\nMAINPID={}\nSTATUS=serving, listeners={}",
                                         ::getpid(), server.listeners().size()))) {
            spdlog::warn("sd_notify READY=1 could not be sent to NOTIFY_SOCKET");
        }
        // With WatchdogSec=, ping four times per period, each time only if every worker ran
        // the previous beat itself (heartbeat.hpp): a few late beats do not fail the watchdog,
        // a stuck worker does. The beats keep their schedule whatever signals arrive
        // (signal_loop.hpp).
        pier::daemon::heartbeat heartbeat(server.pool());
        const auto watchdog = notifier.watchdog_interval();
        std::optional<std::chrono::steady_clock::duration> beat_period;
        if (watchdog) {
            spdlog::info("watchdog enabled interval={}ms",
                         std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog).count());
            beat_period = *watchdog / 4;
        }
        pier::log::rate_limiter late_log(std::chrono::seconds(10));
        pier::daemon::signal_loop_hooks hooks;
        hooks.wait_for_signal = [](std::optional<std::chrono::steady_clock::duration> timeout) {
            return timeout ? pier::daemon::wait_for_signal(*timeout)
                           : pier::daemon::wait_for_signal();
        };
        hooks.beat = [&] {
            if (heartbeat.beat()) {
                notifier.notify("WATCHDOG=1");
            } else if (!heartbeat.late_workers().empty()) {
                if (const auto n = late_log.allow()) {
                    spdlog::warn(
                        "watchdog: worker(s) {} did not answer the last beat, not pinging "
                        "occurrences={}",
                        fmt::join(heartbeat.late_workers(), ","), n);
                }
            }
        };
        hooks.reload = [&] {
            pier::daemon::reload_from_file(server, options.config_path, options.log_level,
                                           notifier);
        };
        const int signal_number = pier::daemon::run_signal_loop(beat_period, hooks);
        spdlog::info("received signal={}, shutting down", strsignal(signal_number));
        if (notifier.enabled() && !notifier.notify("STOPPING=1\nSTATUS=draining connections")) {
            spdlog::warn("sd_notify STOPPING=1 could not be sent to NOTIFY_SOCKET");
        }
        // From here a second SIGTERM or SIGINT cuts the drain short (second_signal.hpp).
        const pier::daemon::second_signal again;
        server.shutdown(again.arrived());
    } catch (const pier::net::bind_error& e) {
        spdlog::error("{}", e.what());
        return exit_code::failure;
    }
    return exit_code::ok;
}

/// --probe: one GET, one line of output, and the exit code a health check reads.
int probe(const pier::daemon::cli_options& options) {
    const auto url = pier::admin::parse_probe_url(*options.probe_url);
    if (!url) {
        std::cerr << "pierd: --probe " << *options.probe_url << ": " << url.error() << '\n';
        return exit_code::usage;
    }
    const auto result = pier::admin::run_probe(url.value(), options.probe_timeout);
    (result.healthy ? std::cout : std::cerr)
        << *options.probe_url << ": " << result.summary << '\n';
    return result.healthy ? exit_code::ok : exit_code::failure;
}

}  // namespace

int main(int argc, char** argv) {
    const auto parsed = pier::daemon::parse_cli({argv, static_cast<std::size_t>(argc)});
    if (!parsed) {
        std::cerr << "pierd: " << parsed.error() << "\nTry 'pierd --help'.\n";
        return exit_code::usage;
    }
    const auto& options = parsed.value();
    if (options.show_help) {
        std::cout << pier::daemon::help_text();
        return exit_code::ok;
    }
    if (options.show_version) {
        std::cout << "pierd " << pier::version << " (Boost " << pier::boost_version
                  << ", edge_reader: " << pier::edge_reader_path << " path)\n";
        return exit_code::ok;
    }
    if (options.probe_url) return probe(options);
    try {
        return run(options);
    } catch (const std::exception& e) {
        spdlog::critical("fatal error=\"{}\"", e.what());
        return exit_code::failure;
    }
}
