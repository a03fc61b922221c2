// What the admin endpoint answers, as a pure function of the request line: unit-tested without
// sockets; admin_server only moves bytes.
//
//   GET /metrics  200, Prometheus text format
//   GET /healthz  200 "ok": the process is alive and its admin thread answers
//   GET /readyz   200 "ready" while listeners are bound and not draining, else 503 "not ready"
// HEAD is answered like GET without the body; other methods get 405 with Allow; other paths 404.
// A query string is ignored.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "pier/admin/metrics.hpp"

namespace pier::admin {

struct admin_reply {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    /// For 405: the methods allowed.
    std::string allow;
};

/// Where the answers come from; called on the admin thread.
struct admin_sources {
    std::function<bool()> ready;
    std::function<metrics_snapshot()> snapshot;
};

admin_reply route(std::string_view method, std::string_view target, const admin_sources& sources);

}  // namespace pier::admin
