// A listener's `tls:` settings made into an OpenSSL server context: its certificate and key,
// versions, ciphers and ALPN, and what every connection gets whatever the settings say (no
// renegotiation, no compression, record buffers released while a connection is idle).
//
// Loaded when the config is (pierd's start, --check-config, each reload): a file that does not
// load, a key that does not match its certificate, a cipher list OpenSSL rejects are config
// errors naming file:line:col and the key; an expired certificate is a warning. A context is
// immutable once loaded and shared (shared_ptr) by the connections made from it, so a reload
// swaps in a new one while connections keep theirs.
//
// Threads: load() on any thread; a loaded context from any thread (OpenSSL's SSL_CTX is
// thread-safe for making sessions and for its session cache).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "pier/config/config.hpp"
#include "pier/config/config_error.hpp"

namespace pier::tls {

class server_context {
public:
    /// What load() made: a context, or the errors that prevented one. Warnings either way.
    struct loaded {
        std::shared_ptr<const server_context> context;
        std::vector<config::config_error> errors;
        std::vector<config::config_error> warnings;
    };

    /// Builds the context `cfg` describes, loading its files now.
    static loaded load(const config::tls_config& cfg);

    ~server_context();
    server_context(const server_context&) = delete;
    server_context& operator=(const server_context&) = delete;

    /// A new server-side session for one connection (accept state), or null when OpenSSL has
    /// no memory for it.
    SSL* new_session() const;

    /// The certificate's expiry (seconds since the epoch), for metrics.
    long long certificate_expiry() const { return expiry_; }

private:
    server_context(SSL_CTX* context, std::string alpn_wire, long long expiry);

    SSL_CTX* context_;
    /// The ALPN protocols in wire format (length-prefixed), in preference order; read by the
    /// selection callback.
    std::string alpn_wire_;
    long long expiry_;
};

}  // namespace pier::tls
