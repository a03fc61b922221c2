// pier's configuration: plain structs with defaults, filled from YAML by parse_config().
//
// Owns nothing but values; immutable once built and safe to share read-only between threads.
// Every struct compares with ==: a reload (daemon/config_diff) applies only what changed.
// Every field's comment gives its unit and why the default is what it is. config/pier.yaml
// documents the same keys for operators; keep the two in step.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pier/config/config_error.hpp"
#include "pier/config/enum_names.hpp"

namespace pier::config {

using namespace std::chrono_literals;

/// Log verbosity, ordered as spdlog orders it.
enum class log_level { trace, debug, info, warn, error, critical, off };
constexpr auto names_of(log_level) {
    using enum log_level;
    return std::to_array<enum_name<log_level>>({{trace, "trace"},
                                                {debug, "debug"},
                                                {info, "info"},
                                                {warn, "warn"},
                                                {error, "error"},
                                                {critical, "critical"},
                                                {off, "off"}});
}

/// text: human-readable lines; json: one JSON object per line for log shippers.
enum class log_format { text, json };
constexpr auto names_of(log_format) {
    using enum log_format;
    return std::to_array<enum_name<log_format>>({{text, "text"}, {json, "json"}});
}

/// How connections are spread over the workers.
/// work_stealing: each connection runs on a serializer; idle workers take queued work and serve a
/// stuck worker's reactor. pinned: a connection runs on the worker that accepted it, always.
enum class scheduler_kind { work_stealing, pinned };
constexpr auto names_of(scheduler_kind) {
    using enum scheduler_kind;
    return std::to_array<enum_name<scheduler_kind>>(
        {{work_stealing, "work_stealing"}, {pinned, "pinned"}});
}

/// `runtime:` — the worker pool.
struct runtime_config {
    /// Worker threads, each running its own reactor. 0 means "auto": one per hardware thread.
    unsigned threads = 0;
    /// work_stealing: one long request no longer stalls the other connections of its worker.
    scheduler_kind scheduler = scheduler_kind::work_stealing;
    /// Workers never sleep: they poll for events without waiting, a core each, all the time
    /// (HAProxy's busy-polling). An event is then picked up without waking a sleeping CPU,
    /// which is slow on virtual machines and CPUs that change frequency. Off by default: only
    /// for workers with cores of their own.
    bool busy_polling = false;

    bool operator==(const runtime_config&) const = default;
};

/// `log:`
struct log_config {
    log_level level = log_level::info;
    log_format format = log_format::text;

    bool operator==(const log_config&) const = default;
};

/// `shutdown:`
struct shutdown_config {
    /// How long SIGTERM waits for connections to finish before cancelling them. 20s: long enough
    /// for in-flight requests, short enough for systemd's default 90s stop timeout.
    std::chrono::nanoseconds drain_timeout = 20s;

    bool operator==(const shutdown_config&) const = default;
};

/// `limits:` — caps across listeners.
struct limits_config {
    /// Live connections across all listeners; beyond it a new connection is accepted and
    /// closed at once. 0: no cap beyond each listener's own max_connections.
    std::uint64_t max_connections = 0;

    bool operator==(const limits_config&) const = default;
};

/// A listen address as written in YAML: an IP literal (IPv6 in brackets) and a port.
struct listen_address {
    std::string host;        ///< IP literal without brackets, e.g. "0.0.0.0", "::1"
    std::uint16_t port = 0;  ///< 0 asks the kernel for a free port (tests use this)

    /// "host:port", with brackets around IPv6 hosts.
    std::string to_string() const;

    bool operator==(const listen_address&) const = default;
};

/// `admin:` — the HTTP endpoint for operators: /metrics (Prometheus), /healthz, /readyz.
struct admin_config {
    /// Off unless the file has an `admin:` section: an endpoint that tells anyone who connects
    /// what the daemon is doing is opt-in. config/pier.yaml turns it on.
    bool enabled = false;
    /// Loopback by default: pierd warns when it is bound anywhere else.
    listen_address listen{"127.0.0.1", 9090};
    /// Admin connections held at once. 16: monitoring scrapers and health probes, never a
    /// crowd; a flood of them cannot take memory from the listeners. When all are held, a new
    /// connection takes the slot of the one that has gone longest without progress.
    unsigned max_connections = 16;
    /// Longest wait for a request's head once it has begun (from the connection's start for
    /// its first request) and for a response to be written. 10s: Prometheus' default scrape
    /// timeout.
    std::chrono::nanoseconds timeout = 10s;
    /// Longest a kept-alive connection may wait, idle, for its next request to begin. 5s:
    /// HAProxy's usual `timeout http-keep-alive`; a scraper reconnects for its next scrape.
    std::chrono::nanoseconds keepalive_timeout = 5s;

    bool operator==(const admin_config&) const = default;
};

/// `listeners[].echo:` — settings of the RFC 862 echo handler.
struct echo_config {
    /// Most bytes read from a client per wake-up and so the most a connection holds while its
    /// peer is slow to read (bytes). Bounds per-connection memory; 64KiB matches a socket buffer.
    std::uint64_t max_buffer = 64 * 1024;

    bool operator==(const echo_config&) const = default;
};

/// `listeners[].synthetic:` — the capacity-planning handler. A request is one line; what it
/// costs comes from here unless the line overrides it (`cpu=250us delay=10ms size=128`).
struct synthetic_config {
    // Upper bounds of every value, here and in request lines alike: they keep one request from
    // holding a worker (cpu) or a connection (delay) without end, and bound a response.
    static constexpr std::chrono::nanoseconds max_cpu = 10s;
    static constexpr std::chrono::nanoseconds max_delay = 10min;
    static constexpr std::uint64_t max_response_bytes = 64ull << 20;

    /// Thread CPU time spent per request. 0: the handler then measures pier's own overhead.
    std::chrono::nanoseconds cpu = 0s;
    /// Then waited per request, without holding a thread (a downstream call's latency).
    std::chrono::nanoseconds delay = 0s;
    /// Response length in bytes, its final '\n' included. 3: "OK\n".
    std::uint64_t response_bytes = 3;
    /// Longest request line, its '\n' excluded (bytes). A longer one gets an error line and
    /// the connection is closed. 4KiB: room for any token list, and the most an idle-looking
    /// connection can make the server hold.
    std::uint64_t max_line = 4096;

    bool operator==(const synthetic_config&) const = default;
};

/// How the proxy picks an upstream for each new client.
/// round_robin: in turn, in proportion to weight (nginx's smooth weighted round robin).
/// least_connections: the one with the fewest active connections per unit of weight.
/// random_two: the less loaded of two picked at random (power of two choices).
enum class balance_policy { round_robin, least_connections, random_two };
constexpr auto names_of(balance_policy) {
    using enum balance_policy;
    return std::to_array<enum_name<balance_policy>>({{round_robin, "round_robin"},
                                                     {least_connections, "least_connections"},
                                                     {random_two, "random_two"}});
}

/// PROXY protocol version the proxy sends upstream (HAProxy's proxy-protocol.txt).
enum class proxy_protocol { none, v1, v2 };
constexpr auto names_of(proxy_protocol) {
    using enum proxy_protocol;
    return std::to_array<enum_name<proxy_protocol>>({{none, "none"}, {v1, "v1"}, {v2, "v2"}});
}

/// `listeners[].proxy.upstreams[]`: "host:port" or {address, weight}.
struct upstream_config {
    listen_address address;  ///< an IP literal and a port; names are not resolved
    /// Share of new connections relative to the other upstreams (1..1000).
    unsigned weight = 1;

    bool operator==(const upstream_config&) const = default;
};

/// `listeners[].proxy.health_check:` — active health checks: each upstream is probed (a TCP
/// connect, then optionally `send` and `expect`) within `timeout`, `interval` after its last
/// probe ended. `fall` failed probes in a row take it out of rotation, `rise` passed ones put
/// it back (HAProxy's check, inter, rise, fall, tcp-check send/expect).
struct health_check_config {
    /// Time between the end of one probe and the start of the next. 2s: HAProxy's inter.
    std::chrono::nanoseconds interval = 2s;
    /// Longest a probe may take, connect to match. 1s: a healthy upstream on a LAN answers
    /// in well under a millisecond, and a stuck probe must not outlast the interval by much.
    std::chrono::nanoseconds timeout = 1s;
    /// Probes in a row that must pass to bring a down upstream back. 2: HAProxy's default.
    unsigned rise = 2;
    /// Probes in a row that must fail to take an upstream out. 3: HAProxy's default.
    unsigned fall = 3;
    /// Bytes written once connected (YAML escapes such as "\r\n" work in double quotes).
    /// Empty: nothing is sent.
    std::string send;
    /// Bytes the upstream's reply must contain (within its first 16KiB). Empty: the connect
    /// alone (and the send) decides.
    std::string expect;

    bool operator==(const health_check_config&) const = default;
};

/// `listeners[].proxy:` — settings of the TCP proxy handler.
struct proxy_config {
    std::vector<upstream_config> upstreams;  ///< at least one when handler is proxy
    balance_policy balance = balance_policy::round_robin;
    /// Longest wait for an upstream to accept a connection. 5s: HAProxy's usual timeout
    /// connect; a healthy upstream on a LAN answers in well under a millisecond.
    std::chrono::nanoseconds connect_timeout = 5s;
    /// Further upstreams tried when a connect fails, each a different one. 2: a dead upstream
    /// costs a client one extra connect, not a refusal.
    unsigned retries = 2;
    /// A proxied connection with no byte either way for this long is closed (HAProxy's timeout
    /// tunnel). Unset: the listener's idle_timeout.
    std::optional<std::chrono::nanoseconds> idle_timeout;
    /// Once either side has closed its half (its EOF passed on), the connection is closed after
    /// this long with no byte either way, if that is shorter than the idle timeout (HAProxy's
    /// timeout client-fin / server-fin): a peer that never closes its side cannot hold a
    /// finished exchange open for the whole idle timeout. Unset: the idle timeout applies.
    std::optional<std::chrono::nanoseconds> half_close_timeout;
    /// Most bytes held per direction for a side that reads slower than the other sends (bytes).
    /// Nothing more is read from the fast side meanwhile: memory stays bounded, TCP slows it.
    /// 16KiB: HAProxy's bufsize.
    std::uint64_t max_buffer = 16 * 1024;
    /// Consecutive connect failures that eject an upstream (passive health); 0: never eject.
    unsigned max_fails = 3;
    /// How long the first ejection lasts; each further one while it keeps failing doubles it,
    /// up to 32 times. 10s: nginx's fail_timeout.
    std::chrono::nanoseconds fail_timeout = 10s;
    /// PROXY protocol header sent to the upstream before the client's bytes.
    proxy_protocol send_proxy = proxy_protocol::none;
    /// Active health checks; unset (no `health_check:` section): passive health only.
    std::optional<health_check_config> health_check;

    bool operator==(const proxy_config&) const = default;
};

/// What serves a listener's connections (handlers/registry.cpp makes it). Each name is also
/// the key of that handler's section in the listener.
enum class handler_kind { echo, synthetic, proxy };
constexpr auto names_of(handler_kind) {
    using enum handler_kind;
    return std::to_array<enum_name<handler_kind>>(
        {{echo, "echo"}, {synthetic, "synthetic"}, {proxy, "proxy"}});
}

/// A string value and where it was written: for values only another library can judge (a
/// file to load, an OpenSSL cipher list), so that its errors still name file:line:col and
/// the key. A value not written in the file (a default) has no position.
struct located_text {
    std::string text;
    key_location at;

    bool operator==(const located_text&) const = default;
};

/// The oldest TLS version a listener accepts (TLS 1.0 and 1.1 are never offered).
enum class tls_version { tls1_2, tls1_3 };
constexpr auto names_of(tls_version) {
    using enum tls_version;
    return std::to_array<enum_name<tls_version>>({{tls1_2, "TLSv1.2"}, {tls1_3, "TLSv1.3"}});
}

/// `listeners[].tls:` — the listener's connections are TLS: the handshake completes before
/// the handler sees a byte, and the handler reads and writes plaintext. The handshake is a
/// request for request_timeout: one still incomplete that long after its first byte is cut
/// (a client that opens and never finishes, or trickles its ClientHello).
struct tls_config {
    /// Mozilla's "intermediate" profile (server side TLS guidelines, v5.7) for TLS 1.2, minus
    /// its DHE suites (they need DH parameters of their own and add nothing for clients made
    /// since 2013): forward secrecy and AEAD only.
    static constexpr std::string_view intermediate_ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
    /// TLS 1.3's suites: all three of the RFC's that OpenSSL enables by default.
    static constexpr std::string_view tls13_ciphersuites =
        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

    /// The certificate chain file (PEM: the server's certificate first, then its
    /// intermediates). A relative path is relative to the config file's directory.
    located_text certificate;
    /// The certificate's private key file (PEM, unencrypted); relative as certificate.
    located_text key;
    tls_version min_version = tls_version::tls1_2;
    /// TLS 1.2 cipher list, in OpenSSL's syntax; the server's order is preferred.
    located_text ciphers{std::string(intermediate_ciphers), {}};
    /// TLS 1.3 cipher suites, in OpenSSL's syntax.
    located_text ciphersuites{std::string(tls13_ciphersuites), {}};
    /// ALPN protocols offered, in order of preference (e.g. h2, http/1.1). Empty: no ALPN;
    /// a client's ALPN extension is then ignored.
    std::vector<std::string> alpn;
    bool operator==(const tls_config&) const = default;
};

/// `listeners[]:` — one bound address and what it serves.
struct listener_config {
    std::string name;       ///< unique, used in logs and metrics
    listen_address listen;  ///< unique unless port is 0
    /// Kernel accept queue length (connections). 1024: absorbs bursts; capped by somaxconn.
    unsigned backlog = 1024;
    /// What serves each connection; the listener's section of the same name configures it.
    handler_kind handler = handler_kind::echo;
    /// Live connections this listener serves at once; beyond it a new connection is accepted
    /// and closed immediately. 10000 fits the default open-file limit of a systemd service.
    std::uint64_t max_connections = 10000;
    /// Live connections from one client address; beyond it a new connection from that
    /// address is accepted and closed at once. 0: no cap. Off by default: many clients may
    /// share one address (NAT, a proxy in front).
    std::uint64_t max_connections_per_ip = 0;
    /// A connection with no byte read or written for this long is closed. 0 disables. 5m: well
    /// past any client think time, short enough to reclaim abandoned connections.
    std::chrono::nanoseconds idle_timeout = 5min;
    /// A connection whose write has made no progress for this long (the peer stopped reading)
    /// is closed. 0 disables. 60s: nginx's send_timeout; far shorter than idle_timeout, so a
    /// peer that never reads cannot hold its buffered response for minutes.
    std::chrono::nanoseconds write_timeout = 60s;
    /// A request (a PROXY protocol header, a synthetic request line) still incomplete this
    /// long after its first byte arrived is cut, however steadily its bytes trickle in
    /// (slowloris: each byte would postpone idle_timeout). 0 disables. 10s: HAProxy's
    /// recommended `timeout http-request`. Relays (echo, proxy) carry bytes, not requests: for
    /// them idle_timeout and the connection caps are the limits.
    std::chrono::nanoseconds request_timeout = 10s;
    /// Clients come through a proxy that sends the PROXY protocol (v1 or v2) first: the header
    /// is required, and the client it names is the connection's peer for per-IP caps, logs and
    /// metrics. Off by default: a header from an untrusted client would forge its address.
    bool accept_proxy = false;
    /// TLS on this listener's connections; unset (no `tls:` section): plain TCP.
    std::optional<tls_config> tls;
    echo_config echo;
    synthetic_config synthetic;
    proxy_config proxy;

    bool operator==(const listener_config&) const = default;
};

/// The idle timeout a listener's connections get: proxy.idle_timeout for a proxy listener
/// that sets one, else idle_timeout.
std::chrono::nanoseconds effective_idle_timeout(const listener_config& cfg);

/// proxy.half_close_timeout for a proxy listener that sets one, else zero (none).
std::chrono::nanoseconds effective_half_close_timeout(const listener_config& cfg);

/// The whole file.
struct config {
    runtime_config runtime;
    log_config log;
    shutdown_config shutdown;
    limits_config limits;
    admin_config admin;
    std::vector<listener_config> listeners;

    bool operator==(const config&) const = default;
};

}  // namespace pier::config
