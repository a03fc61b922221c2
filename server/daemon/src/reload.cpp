#include "pier/daemon/reload.hpp"

#include <time.h>

#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pier/config/parse.hpp"
#include "pier/daemon/memory_budget.hpp"
#include "pier/daemon/memory_give_back.hpp"
#include "pier/daemon/resource_limits.hpp"
#include "pier/daemon/tls_contexts.hpp"
#include "pier/log/logging.hpp"

namespace pier::daemon {
namespace {

/// systemd wants the reload's start on CLOCK_MONOTONIC with RELOADING=1 (sd_notify(3)).
std::uint64_t monotonic_usec() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000 +
           static_cast<std::uint64_t>(now.tv_nsec) / 1'000;
}

/// Counts and logs a reload that failed before reaching server::reload(); returns false.
bool refuse(server& running, const std::vector<config::config_error>& errors) {
    // Counted before the line that reports it: whoever reads that line (an operator, a test)
    // and then /metrics finds the failure counted.
    running.count_failed_reload();
    for (const auto& line : config::report_lines(errors)) spdlog::error("reload: {}", line);
    spdlog::error("reload failed, keeping the running config errors={}", errors.size());
    return false;
}

/// Loads `path` and applies it to `running`; false when it does not validate. (Not `apply`:
/// its std-typed arguments make every call look for std::apply as well.)
bool apply_file(server& running, const std::filesystem::path& path,
                const std::optional<config::log_level>& cli_log_level) {
    auto loaded = config::load_config(path);
    if (!loaded.ok()) return refuse(running, loaded.errors);
    auto next = std::move(*loaded.value);
    // Every certificate and key is read again, so renewed files take effect; one that does
    // not load fails the reload like a config error.
    auto tls = load_tls_contexts(next);
    for (const auto& warning : tls.warnings) spdlog::warn("reload: {}", warning.to_string());
    if (!tls.errors.empty()) return refuse(running, tls.errors);
    if (cli_log_level) next.log.level = *cli_log_level;  // the command line still wins
    const auto log = next.log;
    const auto outcome = running.reload(std::move(next), std::move(tls));
    if (!outcome.applied) {
        for (const auto& error : outcome.errors) spdlog::error("reload: {}", error);
        spdlog::error("reload failed, keeping the running config errors={}", outcome.errors.size());
        return false;
    }
    log::reconfigure_logging(log);
    warn_if_open_file_limit_short(running.configuration(), running.pool().size());
    if (const auto warning = buffer_memory_warning(running.configuration(), usable_memory())) {
        spdlog::warn("{}", *warning);
    }
    spdlog::info("reload complete listeners={} restart_required={}", running.listeners().size(),
                 outcome.need_restart.size());
    return true;
}

}  // namespace

bool reload_from_file(server& running, const std::filesystem::path& path,
                      const std::optional<config::log_level>& cli_log_level,
                      const sd_notifier& notifier) {
    notifier.notify(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading {}",
                                monotonic_usec(), path.string()));
    spdlog::info("reload: reading config={}", path.string());
    bool applied = false;
    try {
        applied = apply_file(running, path, cli_log_level);
    } catch (const std::exception& e) {
        // Out of memory or threads, say: the daemon serves on with whatever was applied.
        running.count_failed_reload();  // before the line, as above
        spdlog::error("reload failed error=\"{}\"", e.what());
    }
    // Parsing a large file takes tens of MB (config_file.hpp bounds how many), freed by now but
    // kept by malloc unless trimmed: without this, one failed reload of a file at the limits
    // left pierd 45 MB larger for good.
    memory_give_back::release_free_memory();
    // READY=1 ends the reload for systemd whether or not it applied: the old config serves on.
    if (notifier.enabled() &&
        !notifier.notify(fmt::format("READY=1\nSTATUS=serving, listeners={}{}",
                                     running.listeners().size(),
                                     applied ? "" : " (last reload failed)"))) {
        spdlog::warn("sd_notify READY=1 could not be sent to NOTIFY_SOCKET after the reload");
    }
    return applied;
}

}  // namespace pier::daemon
