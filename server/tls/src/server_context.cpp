#include "pier/tls/server_context.hpp"

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <system_error>
#include <utility>

#include <openssl/err.h>
#include <openssl/x509.h>

namespace pier::tls {
namespace {

/// OpenSSL's queued errors as one line, the queue emptied.
std::string openssl_errors() {
    std::string out;
    while (const unsigned long code = ERR_get_error()) {
        const char* reason = ERR_reason_error_string(code);
        char text[256];
        if (reason == nullptr) {
            ERR_error_string_n(code, text, sizeof text);
            reason = text;
        }
        if (!out.empty()) out += "; ";
        out += reason;
    }
    return out.empty() ? "unknown OpenSSL error" : out;
}

/// The file's path: as written when absolute, else from the config file's directory (a
/// service's working directory is /, so a path relative to it would surprise).
std::string resolve(const config::located_text& file) {
    const std::filesystem::path path(file.text);
    if (path.is_absolute() || file.at.source.empty()) return path.string();
    return (std::filesystem::path(file.at.source).parent_path() / path).string();
}

/// Why `path` cannot be opened for reading, or empty when it can: OpenSSL's own message for a
/// missing file is "system lib", which tells an operator nothing.
std::string unreadable(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) return std::error_code(errno, std::generic_category()).message();
    std::fclose(file);
    return {};
}

/// ASN.1 time as seconds since the epoch (0 if it cannot be read).
long long epoch_seconds(const ASN1_TIME* time) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(time, &tm) != 1) return 0;
    return static_cast<long long>(timegm(&tm));
}

/// "2026-12-08 10:00:00 UTC".
std::string utc_text(long long seconds) {
    const auto t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return text;
}

/// ALPN protocol names in the wire format (each prefixed by its length).
std::string alpn_wire(const std::vector<std::string>& names) {
    std::string wire;
    for (const auto& name : names) {
        wire += static_cast<char>(name.size());  // 1..255: checked by the config's parser
        wire += name;
    }
    return wire;
}

/// Picks the first of the server's protocols that the client offers; none in common: the
/// handshake goes on without ALPN (as HAProxy and nginx do), and the handler sees no protocol.
int select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
                const unsigned char* offered, unsigned int offered_length, void* arg) {
    const auto* ours = static_cast<const std::string*>(arg);
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, out_length,
                              reinterpret_cast<const unsigned char*>(ours->data()),
                              static_cast<unsigned int>(ours->size()), offered,
                              offered_length) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

struct context_deleter {
    void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};

}  // namespace

server_context::loaded server_context::load(const config::tls_config& cfg) {
    loaded out;
    ERR_clear_error();
    std::unique_ptr<SSL_CTX, context_deleter> context(SSL_CTX_new(TLS_server_method()));
    if (!context) {
        out.errors.push_back(
            cfg.certificate.at.error("cannot make a TLS context: " + openssl_errors()));
        return out;
    }
    SSL_CTX* ctx = context.get();

    // TLS 1.0 and 1.1 are never offered (RFC 8996), whatever the settings.
    SSL_CTX_set_min_proto_version(
        ctx, cfg.min_version == config::tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
    // Renegotiation (of any kind) and compression (CRIME) are off; the cipher order is ours.
    SSL_CTX_set_options(
        ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // An idle connection holds no record buffers; a write may go out in part (send_now) and
    // be retried from another address (the unsent rest is kept elsewhere).
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // Resumption: tickets (OpenSSL's default, keys made per context, so per load) and a
    // server-side cache bounded at OpenSSL's default of 20,480 sessions.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(ctx, 20480);
    static constexpr unsigned char session_id_context[] = "pier";
    SSL_CTX_set_session_id_context(ctx, session_id_context, sizeof session_id_context - 1);

    if (SSL_CTX_set_cipher_list(ctx, cfg.ciphers.text.c_str()) != 1) {
        out.errors.push_back(cfg.ciphers.at.error(
            "no usable cipher in the list: " + openssl_errors(), cfg.ciphers.text));
    }
    if (SSL_CTX_set_ciphersuites(ctx, cfg.ciphersuites.text.c_str()) != 1) {
        out.errors.push_back(cfg.ciphersuites.at.error(
            "no usable suite in the list: " + openssl_errors(), cfg.ciphersuites.text));
    }

    const std::string certificate_path = resolve(cfg.certificate);
    bool have_certificate = false;
    if (const auto why = unreadable(certificate_path); !why.empty()) {
        out.errors.push_back(
            cfg.certificate.at.error("cannot read " + certificate_path + ": " + why));
    } else if (SSL_CTX_use_certificate_chain_file(ctx, certificate_path.c_str()) != 1) {
        out.errors.push_back(cfg.certificate.at.error("no PEM certificate chain in " +
                                                      certificate_path + ": " + openssl_errors()));
    } else {
        have_certificate = true;
    }

    const std::string key_path = resolve(cfg.key);
    if (const auto why = unreadable(key_path); !why.empty()) {
        out.errors.push_back(cfg.key.at.error("cannot read " + key_path + ": " + why));
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
        // OpenSSL compares the key with the certificate already loaded as it takes it.
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            out.errors.push_back(cfg.key.at.error("the key in " + key_path +
                                                  " does not match the certificate in " +
                                                  certificate_path));
        } else {
            out.errors.push_back(
                cfg.key.at.error("no usable PEM private key in " + key_path +
                                 " (an encrypted key is not supported): " + openssl_errors()));
        }
    }

    long long expiry = 0;
    if (have_certificate) {
        const X509* certificate = SSL_CTX_get0_certificate(ctx);
        expiry = epoch_seconds(X509_get0_notAfter(certificate));
        if (X509_cmp_current_time(X509_get0_notAfter(certificate)) < 0) {
            out.warnings.push_back(cfg.certificate.at.error(
                "the certificate in " + certificate_path + " expired on " + utc_text(expiry)));
        } else if (X509_cmp_current_time(X509_get0_notBefore(certificate)) > 0) {
            out.warnings.push_back(cfg.certificate.at.error(
                "the certificate in " + certificate_path + " is not valid before " +
                utc_text(epoch_seconds(X509_get0_notBefore(certificate)))));
        }
    }
    if (!out.errors.empty()) return out;

    std::shared_ptr<server_context> made(
        new server_context(context.release(), alpn_wire(cfg.alpn), expiry));
    if (!made->alpn_wire_.empty()) {
        SSL_CTX_set_alpn_select_cb(made->context_, &select_alpn, &made->alpn_wire_);
    }
    out.context = std::move(made);
    return out;
}

server_context::server_context(SSL_CTX* context, std::string alpn_wire, long long expiry)
    : context_(context), alpn_wire_(std::move(alpn_wire)), expiry_(expiry) {}

server_context::~server_context() { SSL_CTX_free(context_); }

SSL* server_context::new_session() const {
    SSL* ssl = SSL_new(context_);
    if (ssl != nullptr) SSL_set_accept_state(ssl);
    return ssl;
}

}  // namespace pier::tls
