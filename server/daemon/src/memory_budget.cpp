#include "pier/daemon/memory_budget.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <limits>
#include <vector>

#include "pier/daemon/cgroup_memory.hpp"
#include "pier/handlers/registry.hpp"

namespace pier::daemon {
namespace {

constexpr auto saturated = std::numeric_limits<std::uint64_t>::max();

// Saturating arithmetic: the sums of many listeners' worst cases must not wrap around.
std::uint64_t times(std::uint64_t a, std::uint64_t b) {
    return a != 0 && b > saturated / a ? saturated : a * b;
}

std::uint64_t plus(std::uint64_t a, std::uint64_t b) {
    return b > saturated - a ? saturated : a + b;
}

/// "1.2TiB": one decimal in the largest binary unit below the value, for messages.
std::string approximate(std::uint64_t bytes) {
    static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f%s" : "%.1f%s", value, units[unit]);
    return text;
}

}  // namespace

std::uint64_t worst_case_buffer_memory(const config::config& cfg) {
    std::uint64_t total = 0;
    std::uint64_t connections = 0;
    std::uint64_t largest = 0;
    for (const auto& listener : cfg.listeners) {
        const auto bound = handlers::connection_buffer_bound(listener).bytes;
        total = plus(total, times(listener.max_connections, bound));
        connections = plus(connections, listener.max_connections);
        largest = std::max(largest, bound);
    }
    if (cfg.limits.max_connections > 0 && cfg.limits.max_connections < connections) {
        total = std::min(total, times(cfg.limits.max_connections, largest));
    }
    return total;
}

std::optional<std::string> buffer_memory_warning(const config::config& cfg,
                                                 const memory_ceiling& memory) {
    const auto worst = worst_case_buffer_memory(cfg);
    if (memory.bytes == 0 || worst <= memory.bytes) return std::nullopt;
    // The largest terms first, and only the first few: the warning is one log line, and a
    // config may list thousands of listeners.
    constexpr std::size_t terms_shown = 10;
    std::vector<const config::listener_config*> largest;
    for (const auto& listener : cfg.listeners) largest.push_back(&listener);
    const auto cost = [](const config::listener_config* listener) {
        return times(listener->max_connections, handlers::connection_buffer_bound(*listener).bytes);
    };
    std::stable_sort(largest.begin(), largest.end(),
                     [&](const auto* a, const auto* b) { return cost(a) > cost(b); });
    std::string terms;
    for (std::size_t i = 0; i < largest.size() && i < terms_shown; ++i) {
        const auto& listener = *largest[i];
        const auto bound = handlers::connection_buffer_bound(listener);
        if (!terms.empty()) terms += "; ";
        terms += "listener \"" + listener.name + "\": max_connections " +
                 std::to_string(listener.max_connections) + " x " + bound.formula + " = " +
                 approximate(times(listener.max_connections, bound.bytes));
    }
    if (largest.size() > terms_shown) {
        terms += "; " + std::to_string(largest.size() - terms_shown) + " more listener(s)";
    }
    if (cfg.limits.max_connections > 0) {
        terms += "; limits.max_connections " + std::to_string(cfg.limits.max_connections);
    }
    return "connection buffers may hold up to " + approximate(worst) +
           " at worst (every connection stalled with full buffers), more than the " +
           approximate(memory.bytes) + " of memory pierd may use (" + memory.source +
           "): " + terms +
           ". Lower max_connections or the buffer sizes, unless the host is sized for it";
}

std::uint64_t physical_memory() {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page_size = ::sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0) return 0;
    return times(static_cast<std::uint64_t>(pages), static_cast<std::uint64_t>(page_size));
}

memory_ceiling usable_memory() {
    memory_ceiling ceiling{physical_memory(), "physical memory"};
    if (const auto limit = this_process_cgroup_memory_limit();
        limit && (ceiling.bytes == 0 || limit->bytes < ceiling.bytes)) {
        ceiling = {limit->bytes, "cgroup limit in " + limit->file.string()};
    }
    return ceiling;
}

}  // namespace pier::daemon
