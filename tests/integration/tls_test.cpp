// TLS termination end to end: a real server in-process on 127.0.0.1:0 with a `tls:` section,
// and clients that are not pier's code (Asio's ssl::stream, `openssl s_client`): the echo byte
// for byte through TLS, ALPN, the minimum version, and what a bad client gets (garbage instead
// of a ClientHello, a handshake never finished): cut, counted, the others unaffected.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "pier/admin/metrics.hpp"
#include "pier/daemon/tls_contexts.hpp"
#include "pier/tls/server_context.hpp"
#include "support/child_process.hpp"
#include "support/proxy_fixture.hpp"
#include "support/test_client.hpp"
#include "support/tls_client.hpp"
#include "support/tls_files.hpp"

namespace pier::test {
namespace {

/// Whether a client trusting only `trust` completes a handshake within two seconds (polled,
/// as eventually() polls a condition).
asio::awaitable<bool> eventually_connects(const tcp::endpoint& server,
                                          const std::filesystem::path& trust) {
    asio::steady_timer pause(co_await asio::this_coro::executor);
    for (int attempt = 0; attempt < 100; ++attempt) {
        bool connected = false;
        try {
            co_await tls_client::connect(server, trust);
            connected = true;
        } catch (const boost::system::system_error&) {
            // Not yet: try again after a pause (no co_await inside a handler).
        }
        if (connected) co_return true;
        pause.expires_after(20ms);
        co_await pause.async_wait(asio::use_awaitable);
    }
    co_return false;
}

/// Checks that `client`'s connection still echoes `message` (by value: a literal's temporary
/// cannot go into a coroutine's arguments under GCC 12).
asio::awaitable<void> check_echoes(tls_client& client, std::string message) {
    CHECK(co_await tls_echo_exchange(client.stream(), message) == message);
}

config::config tls_echo_config(const tls_files& files) {
    auto cfg = echo_config();
    config::tls_config tls;
    tls.certificate.text = files.certificate().string();
    tls.key.text = files.key().string();
    cfg.listeners[0].tls = tls;
    return cfg;
}

// Proves the echo handler works unchanged over TLS: byte for byte from 1 byte to 4 MiB (far
// beyond a record and a socket buffer, so writes wait for the client to read), TLS 1.3 by
// default, and every handshake counted.
TEST_CASE("tls: echo byte for byte through TLS, 1 byte to 4 MiB") {
    const tls_files files;
    running_server server(tls_echo_config(files));
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            for (const std::size_t size :
                 {std::size_t{1}, std::size_t{1000}, std::size_t{65536}, std::size_t{4} << 20}) {
                CAPTURE(size);
                auto client = co_await tls_client::connect(server.endpoint(), files.certificate());
                CHECK(client->version() == "TLSv1.3");
                const auto payload = make_payload(size, static_cast<unsigned>(size));
                CHECK(co_await tls_echo_exchange(client->stream(), payload) == payload);
            }
        },
        60s);
    CHECK(server.listener().stats().tls_handshakes.load() == 4);
    CHECK(server.listener().stats().tls_handshake_errors.load() == 0);
}

// Proves the synthetic handler (line requests, wait_readable and read_available) works over
// TLS: each request line gets its answer on the same connection.
TEST_CASE("tls: the synthetic handler answers request lines through TLS") {
    const tls_files files;
    auto cfg = tls_echo_config(files);
    cfg.listeners[0].handler = config::handler_kind::synthetic;
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto client = co_await tls_client::connect(server.endpoint(), files.certificate());
            for (int round = 0; round < 20; ++round) {
                const std::string request = "size=16\n";
                co_await asio::async_write(client->stream(), asio::buffer(request),
                                           asio::use_awaitable);
                std::string answer(16, '\0');
                co_await asio::async_read(client->stream(), asio::buffer(answer),
                                          asio::use_awaitable);
                CHECK(answer == "OK" + std::string(13, 'x') + "\n");
            }
        },
        30s);
}

// Proves the proxy relays a TLS client to a plain upstream: the client's plaintext reaches the
// upstream (here an echo) and comes back, both ways through the relay's forwarding reads, up to
// payloads far larger than a record or a socket buffer; several clients at once.
TEST_CASE("tls: the proxy relays TLS clients to a plain TCP upstream") {
    const tls_files files;
    running_server upstream(echo_config());
    auto cfg = front_config({upstream.endpoint()});
    config::tls_config tls;
    tls.certificate.text = files.certificate().string();
    tls.key.text = files.key().string();
    cfg.listeners[0].tls = tls;
    running_server front(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            std::vector<std::unique_ptr<tls_client>> clients;
            for (int i = 0; i < 4; ++i) {
                clients.push_back(
                    co_await tls_client::connect(front.endpoint("front"), files.certificate()));
            }
            for (const std::size_t size :
                 {std::size_t{1}, std::size_t{70000}, std::size_t{1} << 20}) {
                CAPTURE(size);
                for (auto& client : clients) {
                    const auto payload = make_payload(size, static_cast<unsigned>(size));
                    CHECK(co_await tls_echo_exchange(client->stream(), payload) == payload);
                }
            }
        },
        60s);
    CHECK(front.listener("front").stats().tls_handshakes.load() == 4);
}

// Proves ALPN picks the server's first protocol that the client offers, and that a client
// offering none of them still connects, without a protocol.
TEST_CASE("tls: ALPN picks the server's preference among the client's offers") {
    const tls_files files;
    auto cfg = tls_echo_config(files);
    cfg.listeners[0].tls->alpn = {"h2", "http/1.1"};
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            // Named first: GCC 12 cannot take braced temporaries into a co_await's arguments.
            const std::string host = "localhost";
            const std::vector<std::string> offers_both = {"http/1.1", "h2"};
            const std::vector<std::string> offers_old = {"http/1.1"};
            const std::vector<std::string> offers_other = {"imap"};
            auto both = co_await tls_client::connect(server.endpoint(), files.certificate(), host,
                                                     offers_both);
            CHECK(both->alpn() == "h2");
            auto old = co_await tls_client::connect(server.endpoint(), files.certificate(), host,
                                                    offers_old);
            CHECK(old->alpn() == "http/1.1");
            auto other = co_await tls_client::connect(server.endpoint(), files.certificate(), host,
                                                      offers_other);
            CHECK(other->alpn() == "");
            co_await check_echoes(*other, "still served");
        },
        30s);
}

// Proves min_version: a listener that asks for TLS 1.3 refuses a client capped at TLS 1.2
// (counted as a failed handshake) and serves a TLS 1.3 client.
TEST_CASE("tls: min_version TLSv1.3 refuses a TLS 1.2 client") {
    const tls_files files;
    auto cfg = tls_echo_config(files);
    cfg.listeners[0].tls->min_version = config::tls_version::tls1_3;
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            asio::ssl::context old(asio::ssl::context::tls_client);
            SSL_CTX_set_max_proto_version(old.native_handle(), TLS1_2_VERSION);
            old.set_verify_mode(asio::ssl::verify_none);
            asio::ssl::stream<tcp::socket> stream(co_await asio::this_coro::executor, old);
            co_await stream.next_layer().async_connect(server.endpoint(), asio::use_awaitable);
            auto [error] = co_await stream.async_handshake(asio::ssl::stream_base::client,
                                                           asio::as_tuple(asio::use_awaitable));
            CHECK(error);
            auto modern = co_await tls_client::connect(server.endpoint(), files.certificate());
            co_await check_echoes(*modern, "1.3");
            CHECK(co_await eventually(
                [&] { return server.listener().stats().tls_handshake_errors.load() == 1; }));
        },
        30s);
}

// Proves a client that sends plaintext (an HTTP request) to a TLS listener is cut at once and
// counted as a failed handshake, while a TLS client connected next to it is served.
TEST_CASE("tls: garbage instead of a ClientHello is cut and counted, others unaffected") {
    const tls_files files;
    running_server server(tls_echo_config(files));
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto good = co_await tls_client::connect(server.endpoint(), files.certificate());
            auto bad = co_await connect_to(server.endpoint());
            const std::string plaintext = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
            co_await write_all(bad, plaintext);
            boost::system::error_code ended;
            const auto answer = co_await read_to_end(bad, ended);
            CHECK((ended == asio::error::eof || ended == asio::error::connection_reset));
            CHECK(answer.find("HTTP") == std::string::npos);  // at most a TLS alert
            co_await check_echoes(*good, "unaffected");
            CHECK(co_await eventually(
                [&] { return server.listener().stats().tls_handshake_errors.load() == 1; }));
        },
        30s);
}

// Proves a handshake is a request for request_timeout: a client that connects and never sends
// a ClientHello is cut after it (not after idle_timeout), counted as abandoned.
TEST_CASE("tls: a handshake never finished is cut by request_timeout") {
    const tls_files files;
    auto cfg = tls_echo_config(files);
    cfg.listeners[0].request_timeout = 1s;
    cfg.listeners[0].idle_timeout = 10min;
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto silent = co_await connect_to(server.endpoint());
            CHECK(co_await closed_without_answer(silent));
            CHECK(co_await eventually([&] {
                return server.listener().stats().closed_for(net::stop_reason::request_timeout) == 1;
            }));
            CHECK(server.listener().stats().tls_handshakes_abandoned.load() == 1);
        },
        30s);
}

// Proves TLS slowloris is cut: 300 clients that each send the start of a TLS record (its header
// announcing 512 bytes, then a byte every 100 ms) never finish a handshake; request_timeout cuts
// every one of them, counted as abandoned, while a real client connected among them is served.
TEST_CASE("tls: 300 handshakes trickled and never finished are cut; a real client is served") {
    constexpr int trickling = 300;
    const tls_files files;
    auto cfg = tls_echo_config(files);
    cfg.listeners[0].request_timeout = 1s;
    cfg.listeners[0].idle_timeout = 10min;
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            std::vector<tcp::socket> slow;
            // A handshake record's header: type 22, version 3.1, 512 bytes to follow.
            const std::string header("\x16\x03\x01\x02\x00", 5);
            for (int i = 0; i < trickling; ++i) {
                slow.push_back(co_await connect_to(server.endpoint()));
                co_await write_all(slow.back(), header);
            }
            auto good = co_await tls_client::connect(server.endpoint(), files.certificate());
            // A byte every 100 ms from each, until the server has cut them all (or 10 s).
            asio::steady_timer pause(co_await asio::this_coro::executor);
            const std::string byte(1, '\x01');
            for (int tick = 0; tick < 100; ++tick) {
                if (server.listener().stats().tls_handshakes_abandoned.load() == trickling) break;
                for (auto& socket : slow) {
                    boost::system::error_code ignored;
                    socket.write_some(asio::buffer(byte), ignored);  // a cut one fails: fine
                }
                pause.expires_after(100ms);
                co_await pause.async_wait(asio::use_awaitable);
            }
            CHECK(server.listener().stats().tls_handshakes_abandoned.load() == trickling);
            CHECK(server.listener().stats().closed_for(net::stop_reason::request_timeout) ==
                  static_cast<std::uint64_t>(trickling));
            co_await check_echoes(*good, "served among them");
            CHECK(server.listener().stats().tls_handshakes.load() == 1);
        },
        30s);
}

// Proves a reload reads the certificate files again, even with the config unchanged: new
// handshakes get the renewed certificate (a client trusting only it connects, one trusting only
// the old one is refused), and a connection made before the reload keeps echoing.
TEST_CASE("tls: a reload picks up renewed certificate files, open connections continue") {
    const tls_files old_files;
    const tls_files new_files;
    // The config names files in a directory of their own, first holding the old pair.
    const tls_files live;
    std::filesystem::copy_file(old_files.certificate(), live.certificate(),
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(old_files.key(), live.key(),
                               std::filesystem::copy_options::overwrite_existing);
    const auto cfg = tls_echo_config(live);
    running_server server(cfg);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto before = co_await tls_client::connect(server.endpoint(), old_files.certificate());
            const std::string first = "before the reload";
            CHECK(co_await tls_echo_exchange(before->stream(), first) == first);

            std::filesystem::copy_file(new_files.certificate(), live.certificate(),
                                       std::filesystem::copy_options::overwrite_existing);
            std::filesystem::copy_file(new_files.key(), live.key(),
                                       std::filesystem::copy_options::overwrite_existing);
            auto tls = daemon::load_tls_contexts(cfg);
            CHECK(tls.errors.empty());
            CHECK(server.get().reload(cfg, std::move(tls)).applied);

            // use_tls() is posted to the listener's strand: a handshake may still get the old
            // context for a moment, never afterwards.
            CHECK(co_await eventually_connects(server.endpoint(), new_files.certificate()));
            bool old_refused = false;
            try {
                co_await tls_client::connect(server.endpoint(), old_files.certificate());
            } catch (const boost::system::system_error&) {
                old_refused = true;
            }
            CHECK(old_refused);
            const std::string second = "after the reload";
            CHECK(co_await tls_echo_exchange(before->stream(), second) == second);
        },
        30s);
}

// Proves pierd reports a key that does not match its certificate as a config error at the
// key's position, for --check-config as at start (exit 78, EX_CONFIG).
TEST_CASE("tls: pierd --check-config names a mismatched key's position") {
    const tls_files files;
    const auto config = files.directory() / "pier.yaml";
    std::ofstream(config) << "listeners:\n"
                             "  - name: secure\n"
                             "    listen: 127.0.0.1:0\n"
                             "    tls:\n"
                             "      certificate: certificate.pem\n"
                             "      key: other_key.pem\n";
    child_process check(PIERD_PATH, {"--check-config", "--config", config.string()});
    const auto code = check.wait_exit(std::chrono::seconds(20));
    REQUIRE_MESSAGE(code.has_value(), check.output());
    CHECK(*code == 78);
    CHECK_MESSAGE(
        check.output().find(config.string() + ":6:12: listeners[0].tls.key: the key in " +
                            (files.directory() / "other_key.pem").string() +
                            " does not match the certificate in " +
                            (files.directory() / "certificate.pem").string()) != std::string::npos,
        check.output());
}

// Proves /metrics shows when a TLS listener's certificate expires (its notAfter), and counts
// the handshakes by result.
TEST_CASE("tls: /metrics has the certificate's expiry and the handshakes by result") {
    const tls_files files;
    running_server server(tls_echo_config(files));
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto client = co_await tls_client::connect(server.endpoint(), files.certificate());
            co_await check_echoes(*client, "counted");
        },
        30s);
    const auto loaded = tls::server_context::load(*tls_echo_config(files).listeners[0].tls);
    REQUIRE(loaded.context != nullptr);
    const auto text = admin::format_prometheus(server.get().metrics_snapshot());
    CHECK_MESSAGE(
        text.find("pier_tls_certificate_expiry_timestamp_seconds{listener=\"echo\"} " +
                  std::to_string(loaded.context->certificate_expiry()) + "\n") != std::string::npos,
        text);
    CHECK(text.find("pier_tls_handshakes_total{listener=\"echo\",result=\"done\"} 1\n") !=
          std::string::npos);
}

// Proves a client pier did not write (OpenSSL's s_client, verifying the certificate and the
// name) gets its line echoed.
TEST_CASE("tls: openssl s_client's line comes back") {
    const tls_files files;
    running_server server(tls_echo_config(files));
    const auto port = std::to_string(server.endpoint().port());
    child_process client(
        "/bin/sh",
        {"-c", "printf 'pier over tls\\n' | exec openssl s_client -connect 127.0.0.1:" + port +
                   " -servername localhost -CAfile " + files.certificate().string() +
                   " -verify_return_error -quiet -ign_eof"});
    CHECK(client.wait_for_line("pier over tls", std::chrono::seconds(20)).has_value());
}

}  // namespace
}  // namespace pier::test
