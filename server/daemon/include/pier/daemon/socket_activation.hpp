// systemd socket activation (sd_listen_fds(3)), read directly: when $LISTEN_PID is this process,
// descriptors 3 .. 3+$LISTEN_FDS-1 are listening sockets systemd opened (pier.socket), named by
// $LISTEN_FDNAMES (FileDescriptorName=). pierd adopts them instead of binding: a listener takes
// the socket named like it, or else the one bound to its configured address.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pier/config/config.hpp"

namespace pier::daemon {

struct inherited_socket {
    int fd = -1;
    std::string name;  ///< from LISTEN_FDNAMES; systemd's default is the unit's name
};

/// The sockets passed to this process, marked close-on-exec, with the LISTEN_* variables
/// removed so that no child inherits them. Empty when pierd was not socket-activated.
std::vector<inherited_socket> take_inherited_sockets();

/// Which of `sockets` listener `cfg` adopts: the one named cfg.name, else the one bound to
/// cfg.listen (same IP and a non-zero port). Returns its index, or nullopt.
std::optional<std::size_t> match_inherited_socket(const config::listener_config& cfg,
                                                  const std::vector<inherited_socket>& sockets);

}  // namespace pier::daemon
