// SIGHUP: read the config file again and apply it to the running server.
//
// systemd hears RELOADING=1 before and READY=1 after (Type=notify with ExecReload=kill -HUP,
// sd_notify(3)); the log says what changed, what failed and what needs a restart. A file that
// does not parse or validate changes nothing: every error is logged (file:line:col and key)
// and the failure is counted in /metrics. Call from the controlling thread (it blocks).
#pragma once

#include <filesystem>
#include <optional>

#include "pier/config/config.hpp"
#include "pier/daemon/sd_notify.hpp"
#include "pier/daemon/server.hpp"

namespace pier::daemon {

/// `cli_log_level` (--log-level) overrides the file's log.level, as it did at start.
/// Returns true when the new config was applied.
bool reload_from_file(server& running, const std::filesystem::path& path,
                      const std::optional<config::log_level>& cli_log_level,
                      const sd_notifier& notifier);

}  // namespace pier::daemon
