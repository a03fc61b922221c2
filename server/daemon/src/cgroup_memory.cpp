#include "pier/daemon/cgroup_memory.hpp"

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace pier::daemon {
namespace {

namespace fs = std::filesystem;

/// A memory.max or memory.limit_in_bytes value; nullopt for "max", unreadable or malformed.
std::optional<std::uint64_t> read_limit(const fs::path& file) {
    std::ifstream in(file);
    std::string text;
    if (!(in >> text) || text == "max") return std::nullopt;
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

/// Reads `file_name` at every level from `base`/`group` up to `base`, keeping the smallest.
void smallest_on_path(const fs::path& base, std::string_view group, const char* file_name,
                      std::optional<cgroup_memory_limit>& smallest) {
    std::error_code unreadable;  // an unreadable mount is one without limits, not an error
    if (!fs::is_directory(base, unreadable)) return;
    std::vector<fs::path> levels{base};
    for (const auto& part : fs::path(group).relative_path()) {
        // A path climbing out (a group outside this cgroup namespace is shown as "/../x"):
        // nothing under the mount describes it, and nothing outside it may be read.
        if (part == "..") return;
        if (part.empty() || part == ".") continue;
        levels.push_back(levels.back() / part);
    }
    for (const auto& level : levels) {
        const auto file = level / file_name;
        if (const auto bytes = read_limit(file); bytes && (!smallest || *bytes < smallest->bytes)) {
            smallest = cgroup_memory_limit{*bytes, file};
        }
    }
}

/// Whether a v1 line's controller list ("memory", "cpu,memory") names the memory controller.
bool lists_memory(std::string_view controllers) {
    while (!controllers.empty()) {
        const auto comma = controllers.find(',');
        if (controllers.substr(0, comma) == "memory") return true;
        if (comma == std::string_view::npos) break;
        controllers.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace

std::optional<cgroup_memory_limit> read_cgroup_memory_limit(std::string_view proc_self_cgroup,
                                                            const fs::path& cgroup_mounts) {
    std::optional<cgroup_memory_limit> smallest;
    std::istringstream lines{std::string(proc_self_cgroup)};
    for (std::string line; std::getline(lines, line);) {
        // hierarchy-ID:controller-list:cgroup-path (cgroups(7)); the path may contain ':'.
        const auto first = line.find(':');
        if (first == std::string::npos) continue;
        const auto second = line.find(':', first + 1);
        if (second == std::string::npos) continue;
        const std::string_view id(line.data(), first);
        const std::string_view controllers(line.data() + first + 1, second - first - 1);
        const std::string_view group(line.data() + second + 1, line.size() - second - 1);
        if (id == "0" && controllers.empty()) {
            // v2: mounted at the root on a pure v2 system, at unified/ on a hybrid one.
            smallest_on_path(cgroup_mounts, group, "memory.max", smallest);
            smallest_on_path(cgroup_mounts / "unified", group, "memory.max", smallest);
        } else if (lists_memory(controllers)) {
            smallest_on_path(cgroup_mounts / "memory", group, "memory.limit_in_bytes", smallest);
        }
    }
    return smallest;
}

std::optional<cgroup_memory_limit> this_process_cgroup_memory_limit() {
    std::ifstream in("/proc/self/cgroup");
    std::stringstream text;
    text << in.rdbuf();
    return read_cgroup_memory_limit(text.str(), "/sys/fs/cgroup");
}

}  // namespace pier::daemon
