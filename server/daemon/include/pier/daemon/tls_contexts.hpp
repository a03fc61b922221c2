// Every TLS listener's context, loaded from the files its config names: at start, for
// --check-config, and at each reload (a reload re-reads every certificate, changed in the
// config or not, so renewed files on disk take effect with SIGHUP).
//
// Threads: any; loading reads files, so not on a worker.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pier/config/config.hpp"
#include "pier/config/config_error.hpp"
#include "pier/tls/server_context.hpp"

namespace pier::daemon {

struct tls_contexts {
    /// By listener name; only listeners with a `tls:` section.
    std::map<std::string, std::shared_ptr<const tls::server_context>> by_listener;
    /// What prevented a context (a config error: start and reload fail on it).
    std::vector<config::config_error> errors;
    /// What loaded but deserves an operator's eye (an expired certificate).
    std::vector<config::config_error> warnings;

    /// The listener's context, or null when it has none (plain TCP).
    std::shared_ptr<const tls::server_context> for_listener(const std::string& name) const;
};

tls_contexts load_tls_contexts(const config::config& cfg);

}  // namespace pier::daemon
