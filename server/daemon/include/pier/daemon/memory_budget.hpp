// What the config lets connections hold in buffers at worst, against the machine's memory.
//
// Every per-connection buffer is bounded by a setting (echo and proxy max_buffer, synthetic
// max_line), but a bound times max_connections can still be more than the machine has: 10000
// proxied connections with max_buffer 64MiB may hold 1.2TiB. pierd --check-config, the start
// and every reload warn, with the arithmetic, when the worst case exceeds the memory pierd may
// use: the machine's, or its cgroup's limit when lower (cgroup_memory.hpp).
// A warning, not an error: the worst case needs every connection stalled with full buffers at
// once, and an operator may size for it with swap or overcommit. Pure apart from
// usable_memory(); callable from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pier/config/config.hpp"

namespace pier::daemon {

/// Buffer bytes every admitted connection could hold at once: each listener's max_connections
/// times its handler's per-connection bound, capped by limits.max_connections (then that many
/// of the largest kind).
std::uint64_t worst_case_buffer_memory(const config::config& cfg);

/// The memory pierd may use and what sets it.
struct memory_ceiling {
    std::uint64_t bytes = 0;  ///< 0: unknown
    std::string source;       ///< for messages: "physical memory", "cgroup limit in <file>"
};

/// The warning, with the arithmetic, when worst_case_buffer_memory() exceeds `memory`
/// (unknown memory: no warning).
std::optional<std::string> buffer_memory_warning(const config::config& cfg,
                                                 const memory_ceiling& memory);

/// Physical memory in bytes (sysconf), 0 if unknown.
std::uint64_t physical_memory();

/// Physical memory, or the cgroup's memory limit when that is lower.
memory_ceiling usable_memory();

}  // namespace pier::daemon
