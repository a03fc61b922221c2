// What a reload would change: the running config against the newly read one.
//
// Pure (two configs in, a description out) so every rule is unit-tested without a server.
// Listeners are matched by name: a listener whose name is new is added, one whose name is gone
// is removed (its connections drain), one with the same name is changed in place — its open
// connections stay. The changes are described as "key: old -> new" for the log.
#pragma once

#include <string>
#include <vector>

#include "pier/config/config.hpp"

namespace pier::daemon {

/// A listener present in both configs whose settings differ.
struct listener_change {
    config::listener_config before;
    config::listener_config after;
    /// The listen address differs: a new socket must be bound before the old one is closed.
    bool rebind = false;
    /// "idle_timeout: 5m -> 1m", one per changed key.
    std::vector<std::string> changes;
};

struct config_diff {
    std::vector<config::listener_config> added;
    std::vector<config::listener_config> removed;
    std::vector<listener_change> changed;
    /// Changes outside the listeners that apply live ("log.level: info -> debug").
    std::vector<std::string> applied_globally;
    /// Changes that apply only after a restart ("runtime.threads: 2 -> 4").
    std::vector<std::string> need_restart;

    /// Nothing that applies live differs (need_restart may still have entries).
    bool empty() const {
        return added.empty() && removed.empty() && changed.empty() && applied_globally.empty();
    }
};

/// Compares the running config with `next`. Listener order does not matter.
config_diff diff_configs(const config::config& running, const config::config& next);

}  // namespace pier::daemon
