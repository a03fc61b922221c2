// The process's open-file limit: each connection is a descriptor, so a process serving (or,
// for pierload, opening) tens of thousands of connections needs the hard limit, not the soft
// default of 1024. Call from main before threads start.
#pragma once

#include <cstdint>

namespace pier::runtime {

/// Raises the soft RLIMIT_NOFILE as far as the hard limit allows (systemd's LimitNOFILE= or
/// `ulimit -Hn` set the hard one); returns the soft limit now in force (0 if unreadable).
std::uint64_t raise_open_file_limit();

}  // namespace pier::runtime
