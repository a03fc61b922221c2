// Whether pierd may serve with the privileges it has. A daemon that parses what strangers send
// should not hold root while it does: the supported ways to run pierd are as an unprivileged
// user (systemd's DynamicUser=, the container image's own user, or any account), and root only
// when the operator says so with --allow-root. Pure functions, callable from any thread.
#pragma once

#include <optional>
#include <string>

#include <sys/types.h>

namespace pier::daemon {

/// Why pierd refuses to serve as `effective_uid` (root without --allow-root), or nothing.
std::optional<std::string> refuse_root(uid_t effective_uid, bool allow_root);

}  // namespace pier::daemon
