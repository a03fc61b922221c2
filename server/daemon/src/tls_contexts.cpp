#include "pier/daemon/tls_contexts.hpp"

#include <utility>

namespace pier::daemon {

std::shared_ptr<const tls::server_context> tls_contexts::for_listener(
    const std::string& name) const {
    const auto it = by_listener.find(name);
    return it == by_listener.end() ? nullptr : it->second;
}

tls_contexts load_tls_contexts(const config::config& cfg) {
    tls_contexts out;
    for (const auto& listener : cfg.listeners) {
        if (!listener.tls) continue;
        auto loaded = tls::server_context::load(*listener.tls);
        for (auto& e : loaded.errors) out.errors.push_back(std::move(e));
        for (auto& w : loaded.warnings) out.warnings.push_back(std::move(w));
        if (loaded.context) out.by_listener.emplace(listener.name, std::move(loaded.context));
    }
    return out;
}

}  // namespace pier::daemon
