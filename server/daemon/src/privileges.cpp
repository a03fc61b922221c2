#include "pier/daemon/privileges.hpp"

namespace pier::daemon {

std::optional<std::string> refuse_root(uid_t effective_uid, bool allow_root) {
    if (effective_uid != 0 || allow_root) return std::nullopt;
    return "refusing to run as root: run pierd as an unprivileged user (the systemd unit's "
           "DynamicUser=, the container image's user, or any account; no listener needs root "
           "above port 1023), or pass --allow-root to run as root anyway";
}

}  // namespace pier::daemon
