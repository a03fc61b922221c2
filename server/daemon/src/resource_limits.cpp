#include "pier/daemon/resource_limits.hpp"

#include <sys/resource.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace pier::daemon {

std::uint64_t descriptors_needed(const config::config& cfg, std::size_t workers) {
    std::uint64_t connections = 0;
    for (const auto& listener : cfg.listeners) connections += listener.max_connections;
    if (cfg.limits.max_connections > 0) {
        connections = std::min(connections, cfg.limits.max_connections);
    }
    // +1 per listening socket; the admin endpoint's listening socket, its two reserve
    // descriptors (admin/reserve_descriptor.hpp) and its own connection cap.
    std::uint64_t needed =
        64 + 3 * static_cast<std::uint64_t>(workers) + connections + cfg.listeners.size();
    if (cfg.admin.enabled) needed += 3 + cfg.admin.max_connections;
    return needed;
}

void warn_if_open_file_limit_short(const config::config& cfg, std::size_t workers) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    const std::uint64_t file_limit = limit.rlim_cur;
    if (const auto needed = descriptors_needed(cfg, workers); needed > file_limit) {
        spdlog::warn(
            "open-file limit below what the config allows limit={} needed={} "
            "(connections allowed by max_connections and limits.max_connections, plus 1 per "
            "listener, the admin endpoint's, 3 per worker, 64 spare); "
            "accepts beyond the limit back off until descriptors free up; raise "
            "LimitNOFILE= or ulimit -n",
            file_limit, needed);
    }
}

}  // namespace pier::daemon
