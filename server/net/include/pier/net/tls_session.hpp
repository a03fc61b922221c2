// One connection's TLS: an OpenSSL session (SSL) over the connection's non-blocking socket,
// which OpenSSL reads and writes itself (through a BIO of ours that sends with MSG_NOSIGNAL).
// byte_stream holds one when the connection is TLS and turns each of its operations into the calls
// below.
//
// Each call runs OpenSSL once and says what it needs to go on: an operation that would block
// reports want_read or want_write, and the caller waits for the socket (the reactor) before
// trying again with the same arguments, as OpenSSL requires of a write.
//
// Threads: any, one call at a time per session. The calls lock the session: the proxy's two
// relay directions read and write one client's session from the threads performing their
// reads (an SSL object must not be used by two threads at once, even to read and to write).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include <openssl/ssl.h>

#include <boost/system/error_code.hpp>

#include "pier/tls/server_context.hpp"

namespace pier::net {

/// TLS failures as error codes: the value is OpenSSL's reason code (ERR_GET_REASON), the
/// message OpenSSL's text for it.
const boost::system::error_category& tls_category();

class tls_session {
public:
    /// What a call needs before it can go on (or that it is over).
    enum class progress { done, want_read, want_write, failed };

    /// The server side of a new connection on the socket `descriptor`, from `context`; null
    /// when OpenSSL has no memory for it.
    static std::unique_ptr<tls_session> accept(const tls::server_context& context, int descriptor);

    /// Takes `ssl` (not null) and binds it to the socket `descriptor`.
    tls_session(SSL* ssl, int descriptor);
    ~tls_session();
    tls_session(const tls_session&) = delete;
    tls_session& operator=(const tls_session&) = delete;

    /// One step of the handshake. `failed`: `ec` says why.
    progress handshake(boost::system::error_code& ec);

    /// Reads plaintext into `data` (at most `size` bytes). `done` with `bytes` > 0, or with
    /// `ec` eof once the peer has closed (close_notify or not: many clients just close);
    /// `failed` with `ec`.
    progress read(char* data, std::size_t size, std::size_t& bytes, boost::system::error_code& ec);

    /// Writes plaintext: `done` with `bytes` taken (at least one record's worth, or all).
    /// After want_write, call again with the same bytes first (OpenSSL holds the record it
    /// began).
    progress write(const char* data, std::size_t size, std::size_t& bytes,
                   boost::system::error_code& ec);

    /// Sends close_notify if it can go now (never waits): the peer then sees a clean end.
    void close_notify();

    /// Plaintext OpenSSL holds already decrypted, readable without the socket.
    bool has_buffered() const;

    /// "TLSv1.3", the negotiated ALPN protocol ("" when none), after the handshake.
    std::string version() const;
    std::string alpn() const;

private:
    progress outcome(int result, boost::system::error_code& ec);

    mutable std::mutex mutex_;
    SSL* ssl_;
};

}  // namespace pier::net
