// The memory limit of the control group pierd runs in: a container's memory limit, or systemd's
// MemoryMax= for the service. Past it the kernel's OOM killer ends pierd, however much memory
// the machine has, so the buffer-memory warning (memory_budget.hpp) measures against it.
//
// Both hierarchies: cgroup v2 (`0::/path` in /proc/self/cgroup; memory.max, "max" when unset)
// and v1 (`N:memory:/path`; memory.limit_in_bytes, a huge number when unset). A limit set on
// an ancestor (a systemd slice, a pod) applies too, so every level from the process's group up
// to the mount's root is read and the smallest wins. Inside a container's cgroup namespace
// the path may name groups the container cannot see: levels that do not exist are skipped,
// down to the mount's root, which is then the container's own group.
//
// Reads files only (no state): callable from any thread. Never throws for what it finds on the
// machine: an absent, unreadable or malformed file is a level without a limit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace pier::daemon {

struct cgroup_memory_limit {
    std::uint64_t bytes = 0;     ///< the limit, in bytes
    std::filesystem::path file;  ///< where the smallest limit was read
};

/// The smallest memory limit on the process's cgroup path, given the text of
/// /proc/self/cgroup and where the cgroup filesystems are mounted (/sys/fs/cgroup: v2 there
/// or at unified/, v1 at memory/). nullopt when no level sets one.
std::optional<cgroup_memory_limit> read_cgroup_memory_limit(
    std::string_view proc_self_cgroup, const std::filesystem::path& cgroup_mounts);

/// The same for this process (/proc/self/cgroup, /sys/fs/cgroup).
std::optional<cgroup_memory_limit> this_process_cgroup_memory_limit();

}  // namespace pier::daemon
