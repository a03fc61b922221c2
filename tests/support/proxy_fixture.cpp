#include "support/proxy_fixture.hpp"

#include <doctest/doctest.h>

namespace pier::test {

config::config front_config(const endpoints& upstreams) {
    auto cfg = echo_config();
    auto& front = cfg.listeners[0];
    front.name = "front";
    front.handler = pier::config::handler_kind::proxy;
    for (const auto& e : upstreams) {
        front.proxy.upstreams.push_back({{e.address().to_string(), e.port()}, 1});
    }
    return cfg;
}

handlers::proxy::upstream_snapshot upstream_figures(running_server& server,
                                                    const tcp::endpoint& upstream) {
    const auto snapshot = server.get().metrics_snapshot();
    for (const auto& l : snapshot.listeners) {
        for (const auto& u : l.upstreams) {
            if (u.address == config::listen_address{upstream.address().to_string(), upstream.port()}
                                 .to_string()) {
                return u;
            }
        }
    }
    FAIL("no such upstream");
    return {};
}

admin::listener_snapshot front_figures(running_server& server) {
    for (auto& l : server.get().metrics_snapshot().listeners) {
        if (l.name == "front") return l;
    }
    FAIL("no front listener");
    return {};
}

tcp::acceptor refusing_upstream(asio::io_context& io) {
    tcp::acceptor a(io);
    a.open(tcp::v4());
    a.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a;
}

tcp::acceptor listening_upstream(asio::io_context& io) {
    tcp::acceptor a = refusing_upstream(io);
    a.listen();
    return a;
}

}  // namespace pier::test
