#include "pier/admin/routes.hpp"

namespace pier::admin {

admin_reply route(std::string_view method, std::string_view target, const admin_sources& sources) {
    const auto query = target.find('?');
    const std::string_view path = target.substr(0, query);
    if (path != "/metrics" && path != "/healthz" && path != "/readyz") {
        return {404, "text/plain; charset=utf-8", "not found\n", {}};
    }
    if (method != "GET" && method != "HEAD") {
        return {405, "text/plain; charset=utf-8", "method not allowed\n", "GET, HEAD"};
    }
    if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n", {}};
    if (path == "/readyz") {
        if (sources.ready()) return {200, "text/plain; charset=utf-8", "ready\n", {}};
        return {503, "text/plain; charset=utf-8", "not ready\n", {}};
    }
    return {
        200, "text/plain; version=0.0.4; charset=utf-8", format_prometheus(sources.snapshot()), {}};
}

}  // namespace pier::admin
