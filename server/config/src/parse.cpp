// pier's configuration schema: which sections and keys exist, their ranges and defaults, and the
// rules across fields (listen addresses and listener names unique, a proxy's upstreams); see
// parse.hpp. How YAML is read (positions, unknown and duplicate keys, typed values and their
// messages) is yaml_reader.hpp's; a key exists here by being read here, and nowhere else.
//
// The validator walks the YAML tree once and records every problem instead of stopping at the
// first, so an operator fixes a file in one round. A reader that finds a bad value reports it and
// leaves the default in place, so later checks still run on a complete struct.
#include "pier/config/parse.hpp"

#include <yaml-cpp/yaml.h>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <utility>

#include "pier/config/config_file.hpp"
#include "yaml_reader.hpp"

namespace pier::config {

namespace {

using yaml_reader::describe;
using yaml_reader::document;
using yaml_reader::entry;
using yaml_reader::int_result;
using yaml_reader::int_status;
using yaml_reader::parse_uint;
using yaml_reader::section;

// ---------------------------------------------------------------------------------------------
// Addresses and names.

bool is_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/// An IP literal as the kernel reads it: the family, the address's bytes and an IPv6 zone
/// ("%eth0") as written. inet_pton decides, as it does for Asio's make_address, which binds
/// the address later (net/listener.cpp), so what passes here binds there.
struct ip_literal {
    int family = AF_UNSPEC;
    std::array<unsigned char, 16> bytes{};
    std::string zone;

    bool operator==(const ip_literal&) const = default;

    /// The canonical text ("0::1" is "::1"), as inet_ntop writes it.
    std::string to_string() const {
        std::array<char, INET6_ADDRSTRLEN> text{};
        inet_ntop(family, bytes.data(), text.data(), static_cast<socklen_t>(text.size()));
        return zone.empty() ? std::string(text.data()) : std::string(text.data()) + "%" + zone;
    }
    /// 0.0.0.0 or ::
    bool is_unspecified() const {
        return std::all_of(bytes.begin(), bytes.end(), [](unsigned char b) { return b == 0; });
    }
    /// 224.0.0.0/4 or ff00::/8
    bool is_multicast() const {
        return family == AF_INET ? (bytes[0] & 0xF0) == 0xE0 : bytes[0] == 0xFF;
    }
};

std::optional<ip_literal> parse_ip_literal(const std::string& host) {
    ip_literal ip;
    if (inet_pton(AF_INET, host.c_str(), ip.bytes.data()) == 1) {
        ip.family = AF_INET;
        return ip;
    }
    const std::size_t percent = host.find('%');
    if (inet_pton(AF_INET6, host.substr(0, percent).c_str(), ip.bytes.data()) == 1) {
        ip.family = AF_INET6;
        if (percent != std::string::npos) ip.zone = host.substr(percent + 1);
        return ip;
    }
    return std::nullopt;
}

struct parsed_listen {
    listen_address address;
    ip_literal ip;  ///< for duplicate detection: "::1" and "0::1" are one address
};

/// "host:port" with an IP literal host (IPv6 in brackets), or why not.
result<parsed_listen> parse_listen(std::string_view text) {
    const std::string expected = "expected \"host:port\", e.g. \"0.0.0.0:7000\"";
    std::string_view host;
    std::string_view port;
    const bool bracketed = !text.empty() && text.front() == '[';
    if (bracketed) {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return failure{expected};
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return failure{expected};
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return failure{"IPv6 addresses need brackets, e.g. \"[::1]:7000\""};
        }
    }
    if (host.empty()) {
        return failure{expected};
    }

    const auto ip = parse_ip_literal(std::string(host));
    if (!ip) {
        // Names are not resolved: resolution at start-up would make the bound address depend
        // on DNS, and a name with several addresses has no single socket to bind.
        return failure{"host must be an IP address, e.g. \"127.0.0.1\" or \"[::1]\""};
    }
    if (bracketed && ip->family != AF_INET6) {
        return failure{"brackets are only for IPv6 addresses"};
    }
    const int_result port_number = parse_uint(port, 0, std::numeric_limits<std::uint16_t>::max());
    if (port_number.status != int_status::ok) {
        return failure{"port must be between 0 and 65535"};
    }
    return parsed_listen{
        listen_address{std::string(host), static_cast<std::uint16_t>(port_number.value)}, *ip};
}

// ---------------------------------------------------------------------------------------------
// The validator.

class validator {
public:
    explicit validator(std::string_view source) : doc_(source) {}

    parse_result run(std::string_view text) {
        const auto root = doc_.load_map(
            text, max_config_nodes, "empty config (expected a map with at least \"listeners\")");
        if (!root) return finish(std::nullopt);

        config out;
        section& top = doc_.open(*root, root->Mark(), "");
        read_runtime(top.sub_section("runtime"), out.runtime);
        read_log(top.sub_section("log"), out.log);
        read_shutdown(top.sub_section("shutdown"), out.shutdown);
        // 0..100 million: 0 is no cap; the bound is a sanity check (each needs a descriptor).
        top.sub_section("limits").read_integer("max_connections", 0, 100'000'000,
                                               out.limits.max_connections);
        read_admin(top, out.admin);
        read_listeners(top, out.listeners);
        return finish(std::move(out));
    }

private:
    parse_result finish(std::optional<config> value) {
        parse_result result;
        result.errors = doc_.finish();
        if (result.errors.empty()) {
            result.value = std::move(value);
        }
        return result;
    }

    void read_runtime(section& s, runtime_config& out) {
        // Looked up first, read last: "threads" heads runtime's key list in messages, and
        // errors that share a position (through a YAML alias) keep the order they have always had.
        const entry* threads = s.find("threads");
        s.read_enum("scheduler", "scheduler", out.scheduler);
        if (const auto busy = s.read_boolean("busy_polling")) out.busy_polling = *busy;
        read_threads(s, threads, out);
    }

    void read_threads(section& s, const entry* e, runtime_config& out) {
        // "auto" or a count; 1024 is a sanity bound, far beyond any machine pier targets.
        constexpr std::uint64_t max_threads = 1024;
        if (e == nullptr) {
            return;
        }
        const auto text = s.scalar(*e, "\"auto\" or an integer");
        if (!text) {
            return;
        }
        if (*text == "auto") {
            out.threads = 0;
            return;
        }
        const int_result parsed = parse_uint(*text, 1, max_threads);
        switch (parsed.status) {
            case int_status::ok: out.threads = static_cast<unsigned>(parsed.value); return;
            case int_status::not_integer:
                s.add(e->mark(), s.path_of("threads"), "expected \"auto\" or an integer", *text);
                return;
            case int_status::out_of_range:
                s.add(e->mark(), s.path_of("threads"),
                      "must be \"auto\" or between 1 and " + std::to_string(max_threads), *text);
                return;
        }
    }

    void read_log(section& s, log_config& out) {
        s.read_enum("level", "log level", out.level);
        s.read_enum("format", "log format", out.format);
    }

    void read_shutdown(section& s, shutdown_config& out) {
        using namespace std::chrono_literals;
        s.read_duration("drain_timeout", 0s, 1h, out.drain_timeout);
    }

    void read_admin(section& top, admin_config& out) {
        using namespace std::chrono_literals;
        // The section's presence turns the endpoint on, even with every key commented out.
        if (top.find("admin") == nullptr) return;
        out.enabled = true;
        section& s = top.sub_section("admin");
        if (const entry* e = s.find("listen")) {
            if (const auto text = s.scalar(*e, "\"host:port\", e.g. \"127.0.0.1:9090\"")) {
                if (auto address = read_address(s, *e, *text)) out.listen = std::move(*address);
            }
        }
        // 1..1024: a handful of scrapers and probes; the bound keeps a flood from holding fds.
        s.read_integer("max_connections", 1, 1024, out.max_connections);
        s.read_duration("timeout", 1ms, 10min, out.timeout);
        s.read_duration("keepalive_timeout", 1ms, 10min, out.keepalive_timeout);
    }

    void read_listeners(section& top, std::vector<listener_config>& out) {
        const entry* e = top.find("listeners");
        if (e == nullptr) {
            top.missing("listeners");
            return;
        }
        if (!e->value.IsSequence()) {
            top.add(e->mark(), "listeners", "expected a sequence of listeners", describe(e->value));
            return;
        }
        if (e->value.size() == 0) {
            top.add(e->mark(), "listeners", "must list at least one listener");
            return;
        }
        for (std::size_t i = 0; i < e->value.size(); ++i) {
            const YAML::Node item = e->value[i];
            const std::string path = "listeners[" + std::to_string(i) + "]";
            if (!item.IsMap()) {
                top.add(item.Mark(), path, "expected a map", describe(item));
                continue;
            }
            out.push_back(read_listener(doc_.open(item, item.Mark(), path)));
        }
    }

    listener_config read_listener(section& s) {
        using namespace std::chrono_literals;
        listener_config out;

        if (const entry* e = s.find("name")) {
            if (const auto name = s.scalar(*e, "a string")) {
                read_name(s, *e, *name, out);
            }
        } else {
            s.missing("name");
        }

        if (const entry* e = s.find("listen")) {
            if (const auto text = s.scalar(*e, "\"host:port\", e.g. \"0.0.0.0:7000\"")) {
                read_listen(s, *e, *text, out);
            }
        } else {
            s.missing("listen");
        }

        // 65535: the kernel stores the backlog in 16 bits (and caps it at somaxconn anyway).
        s.read_integer("backlog", 1, 65535, out.backlog);

        s.read_enum("handler", "handler", out.handler);

        // 10 million: a sanity bound; each connection needs a file descriptor and memory.
        s.read_integer("max_connections", 1, 10'000'000, out.max_connections);
        s.read_integer("max_connections_per_ip", 0, 10'000'000, out.max_connections_per_ip);
        s.read_duration("idle_timeout", 0s, 24h, out.idle_timeout);
        s.read_duration("write_timeout", 0s, 24h, out.write_timeout);
        s.read_duration("request_timeout", 0s, 24h, out.request_timeout);
        if (const auto accept = s.read_boolean("accept_proxy")) out.accept_proxy = *accept;
        if (s.find("tls") != nullptr) {
            out.tls.emplace();
            read_tls(s.sub_section("tls"), *out.tls);
        }

        // One section per handler, each read whatever the listener's handler is: a section kept
        // for a handler switched off by one line is not an error, and typos in it still are.
        section& echo = s.sub_section("echo");
        // 1KiB..64MiB: below, per-read overhead dominates; above, a few slow peers hold gigabytes.
        echo.read_size("max_buffer", 1024, 64 * 1024 * 1024, out.echo.max_buffer);
        read_synthetic(s.sub_section("synthetic"), out.synthetic);
        section& proxy = s.sub_section("proxy");
        read_proxy(proxy, out.proxy);
        for (const auto& u : out.proxy.upstreams) {
            if (out.handler == handler_kind::proxy && u.address == out.listen) {
                s.add(proxy.find("upstreams")->mark(), s.path_of("proxy.upstreams"),
                      "the listener's own address: the proxy would connect to itself",
                      u.address.to_string());
            }
        }
        if (out.handler == handler_kind::proxy && proxy.find("upstreams") == nullptr) {
            s.add(s.find("handler")->mark(), s.path_of("proxy.upstreams"),
                  "required when the handler is proxy (at least one \"host:port\")");
        }
        return out;
    }

    void read_proxy(section& s, proxy_config& out) {
        using namespace std::chrono_literals;
        read_upstreams(s, out.upstreams);
        s.read_enum("balance", "balance", out.balance);
        s.read_duration("connect_timeout", 1ms, 10min, out.connect_timeout);
        // 0..100: each retry is one more connect a client waits for.
        s.read_integer("retries", 0, 100, out.retries);
        if (s.find("idle_timeout") != nullptr) {
            std::chrono::nanoseconds idle = 0s;
            s.read_duration("idle_timeout", 0s, 24h, idle);
            out.idle_timeout = idle;
        }
        if (s.find("half_close_timeout") != nullptr) {
            std::chrono::nanoseconds half_closed = 1s;
            s.read_duration("half_close_timeout", 1ms, 24h, half_closed);
            out.half_close_timeout = half_closed;
        }
        // 2KiB..64MiB: it is also each direction's read size, and below 2KiB the system calls
        // per byte cost more than the memory saved.
        s.read_size("max_buffer", 2048, 64 * 1024 * 1024, out.max_buffer);
        s.read_integer("max_fails", 0, 1000, out.max_fails);
        s.read_duration("fail_timeout", 1ms, 1h, out.fail_timeout);
        s.read_enum("send_proxy", "PROXY protocol version", out.send_proxy);
        // The section's presence turns the checks on, even with every key commented out.
        if (s.find("health_check") != nullptr) {
            out.health_check.emplace();
            read_health_check(s.sub_section("health_check"), *out.health_check);
        }
    }

    /// `tls:`. The files are only named here; the tls layer loads them (tls/tls_context.hpp)
    /// and reports what fails with the key's position.
    void read_tls(section& s, tls_config& out) {
        read_file(s, "certificate", out.certificate);
        read_file(s, "key", out.key);
        s.read_enum("min_version", "TLS version", out.min_version);
        // OpenSSL itself says which cipher names it does not know (tls/server_context.cpp).
        read_text(s, "ciphers", "an OpenSSL cipher list, e.g. \"ECDHE+AESGCM\"", out.ciphers);
        read_text(s, "ciphersuites",
                  "an OpenSSL TLS 1.3 suite list, e.g. \"TLS_AES_128_GCM_SHA256\"",
                  out.ciphersuites);
        read_alpn(s, out.alpn);
    }

    /// A required file path into `out`, with where it was written.
    void read_file(section& s, std::string_view key, located_text& out) {
        if (s.find(key) == nullptr) {
            s.missing(key);
            return;
        }
        read_text(s, key, "a file path, e.g. \"/etc/pier/tls/site.pem\"", out);
    }

    /// A non-empty string of at most 4KiB (a path, a cipher list: a line) into `out`, with where it
    /// was written.
    void read_text(section& s, std::string_view key, std::string_view what, located_text& out) {
        const entry* e = s.find(key);
        if (e == nullptr) return;
        const auto before = out.text;
        s.read_string(key, what, 4096, out.text);
        if (out.text.empty()) {
            s.add(e->mark(), s.path_of(key), "must not be empty");
            out.text = before;
            return;
        }
        out.at = s.location(*e);
    }

    /// `alpn:` a sequence of protocol names (RFC 7301: 1..255 bytes each).
    void read_alpn(section& s, std::vector<std::string>& out) {
        const entry* e = s.find("alpn");
        if (e == nullptr) return;
        const std::string expected = "a sequence of protocol names, e.g. [h2, http/1.1]";
        if (!e->value.IsSequence()) {
            s.add(e->mark(), s.path_of("alpn"), "expected " + expected, describe(e->value));
            return;
        }
        for (std::size_t i = 0; i < e->value.size(); ++i) {
            const YAML::Node item = e->value[i];
            const std::string path = s.path_of("alpn") + "[" + std::to_string(i) + "]";
            if (!item.IsScalar()) {
                s.add(item.Mark(), path, "expected a protocol name, e.g. h2", describe(item));
                continue;
            }
            const std::string& name = item.Scalar();
            if (name.empty() || name.size() > 255) {
                s.add(item.Mark(), path, "must be 1 to 255 bytes long", name);
                continue;
            }
            out.push_back(name);
        }
    }

    void read_health_check(section& s, health_check_config& out) {
        using namespace std::chrono_literals;
        // 10ms: the fastest probing that still leaves the upstream time for real work.
        s.read_duration("interval", 10ms, 1h, out.interval);
        s.read_duration("timeout", 1ms, 10min, out.timeout);
        // 1..100: how many probes confirm a change; more only delays it.
        s.read_integer("rise", 1, 100, out.rise);
        s.read_integer("fall", 1, 100, out.fall);
        // 4KiB: a probe's request or the reply it expects is a line or two.
        constexpr std::size_t max_probe = 4096;
        const std::string_view probe = "a string, e.g. \"PING\\r\\n\"";
        s.read_string("send", probe, max_probe, out.send);
        s.read_string("expect", probe, max_probe, out.expect);
    }

    /// `upstreams:` a sequence of "host:port" or {address: "host:port", weight: N}.
    void read_upstreams(section& s, std::vector<upstream_config>& out) {
        const entry* e = s.find("upstreams");
        if (e == nullptr) return;
        if (!e->value.IsSequence() || e->value.size() == 0) {
            s.add(e->mark(), s.path_of("upstreams"),
                  "expected a sequence of \"host:port\" (or {address, weight})",
                  describe(e->value));
            return;
        }
        const std::string expected = "\"host:port\", e.g. \"127.0.0.1:6379\"";
        for (std::size_t i = 0; i < e->value.size(); ++i) {
            const YAML::Node item = e->value[i];
            const std::string path = s.path_of("upstreams") + "[" + std::to_string(i) + "]";
            upstream_config upstream;
            YAML::Node address_node = item;
            std::string address_path = path;
            if (item.IsMap()) {
                section& u = doc_.open(item, item.Mark(), path);
                // Looked up before weight is read: "address" heads the item's key list, while
                // weight's errors still come before a missing address at the same position.
                const entry* a = u.find("address");
                // 1..1000: relative shares; finer ratios than 1:1000 mean nothing in practice.
                u.read_integer("weight", 1, 1000, upstream.weight);
                if (a == nullptr) {
                    u.missing("address");
                    continue;
                }
                address_node = a->value;
                address_path = u.path_of("address");
            }
            if (!address_node.IsScalar()) {
                s.add(address_node.Mark(), address_path, "expected " + expected,
                      describe(address_node));
                continue;
            }
            const std::string text = address_node.Scalar();
            auto parsed = parse_listen(text);
            if (!parsed) {
                s.add(address_node.Mark(), address_path, parsed.error(), text);
                continue;
            }
            const auto& ip = parsed.value().ip;
            upstream.address = parsed.value().address;
            // Canonical text ("0::1" is "::1"): duplicates and reloads compare addresses as text.
            upstream.address.host = ip.to_string();
            if (upstream.address.port == 0) {
                s.add(address_node.Mark(), address_path, "port must be between 1 and 65535", text);
                continue;
            }
            if (ip.is_unspecified() || ip.is_multicast()) {
                s.add(address_node.Mark(), address_path,
                      "must be one host's address (not unspecified or multicast)", text);
                continue;
            }
            const bool duplicate = std::any_of(out.begin(), out.end(), [&](const auto& other) {
                return other.address == upstream.address;
            });
            if (duplicate) {
                s.add(address_node.Mark(), address_path, "duplicate upstream", text);
                continue;
            }
            out.push_back(std::move(upstream));
        }
    }

    void read_synthetic(section& s, synthetic_config& out) {
        using limits = synthetic_config;
        s.read_duration("cpu", 0s, limits::max_cpu, out.cpu);
        s.read_duration("delay", 0s, limits::max_delay, out.delay);
        // At least 1: the newline that ends every response.
        s.read_size("response_bytes", 1, limits::max_response_bytes, out.response_bytes);
        // 64B..1MiB: room for a token list; the most a connection may make pier hold.
        s.read_size("max_line", 64, 1024 * 1024, out.max_line);
    }

    void read_name(section& s, const entry& e, const std::string& name, listener_config& out) {
        if (name.empty()) {
            s.add(e.mark(), s.path_of("name"), "must not be empty");
            return;
        }
        if (!std::all_of(name.begin(), name.end(), is_name_char)) {
            s.add(e.mark(), s.path_of("name"), "must contain only letters, digits, '_', '.', '-'",
                  name);
            return;
        }
        for (const auto& [seen, mark] : names_) {
            if (seen == name) {
                s.add(e.mark(), s.path_of("name"),
                      "duplicate listener name, first defined at " + s.position(mark), name);
                return;
            }
        }
        names_.emplace_back(name, e.mark());
        out.name = name;
    }

    void read_listen(section& s, const entry& e, const std::string& text, listener_config& out) {
        if (auto address = read_address(s, e, text)) out.listen = std::move(*address);
    }

    /// A "host:port" that no other listener (or the admin endpoint) uses.
    std::optional<listen_address> read_address(section& s, const entry& e,
                                               const std::string& text) {
        auto parsed = parse_listen(text);
        if (!parsed) {
            s.add(e.mark(), s.path_of(e.key), parsed.error(), text);
            return std::nullopt;
        }
        auto& listen = parsed.value();
        // Port 0 asks the kernel for a fresh port per socket, so it never collides.
        if (listen.address.port != 0) {
            for (const auto& seen : addresses_) {
                if (seen.ip == listen.ip && seen.port == listen.address.port) {
                    s.add(e.mark(), s.path_of(e.key),
                          "duplicate listen address, first defined at " + s.position(seen.mark),
                          text);
                    return std::nullopt;
                }
            }
            addresses_.push_back(seen_address{listen.ip, listen.address.port, e.mark()});
        }
        return std::move(listen.address);
    }

    struct seen_address {
        ip_literal ip;
        std::uint16_t port;
        YAML::Mark mark;
    };

    document doc_;
    std::vector<std::pair<std::string, YAML::Mark>> names_;  ///< listener names so far
    std::vector<seen_address> addresses_;                    ///< listen addresses so far
};

}  // namespace

parse_result parse_config(std::string_view text, std::string_view source_name) {
    return validator(source_name).run(text);
}

parse_result load_config(const std::filesystem::path& path) {
    auto file = read_config_file(path);
    if (!file) {
        config_error error;
        error.source = path.string();
        error.what = file.error();
        parse_result result;
        result.errors.push_back(std::move(error));
        return result;
    }
    return parse_config(file.value(), path.string());
}

}  // namespace pier::config
