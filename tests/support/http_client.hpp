// A minimal HTTP/1.1 client for tests of the admin endpoint: one request per connection.
#pragma once

#include <string>

#include "support/test_client.hpp"

namespace pier::test {

struct http_reply {
    unsigned status = 0;
    std::string head;  ///< status line and headers
    std::string body;
};

/// Sends `request` raw and reads until the server closes; returns the status and body.
asio::awaitable<http_reply> exchange_and_close(const tcp::endpoint& endpoint,
                                               const std::string& request);

/// GET `target` with Connection: close.
asio::awaitable<http_reply> get(const tcp::endpoint& endpoint, const std::string& target);

/// Whether `text` has `line` as one whole line (a Prometheus sample, say).
bool has_line(const std::string& text, const std::string& line);

}  // namespace pier::test
