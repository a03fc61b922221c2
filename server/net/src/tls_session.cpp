#include "pier/net/tls_session.hpp"

#include <cerrno>
#include <cstdint>
#include <new>
#include <string>

#include <sys/socket.h>

#include <openssl/err.h>

#include <boost/asio/error.hpp>

namespace pier::net {
namespace {

// boost::system::error_category's destructor is not virtual (categories are static objects,
// never deleted through a base pointer), which -Wnon-virtual-dtor reports for any category.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class tls_error_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "tls"; }
    std::string message(int reason) const override {
        const char* text =
            ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, static_cast<unsigned long>(reason)));
        return text != nullptr ? text : "TLS error " + std::to_string(reason);
    }
};
#pragma GCC diagnostic pop

/// OpenSSL's socket BIO, but sending with MSG_NOSIGNAL: its write() raises SIGPIPE on a
/// socket whose peer has gone (a client that gives up mid-handshake, then a session ticket
/// is sent), which would kill any process that has not ignored the signal. The descriptor is
/// the BIO's data; the socket stays the byte_stream's to close.
int descriptor_of(BIO* bio) {
    return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

int socket_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
    BIO_clear_retry_flags(bio);
    ssize_t n = 0;
    do {
        n = ::send(descriptor_of(bio), data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
        *written = static_cast<std::size_t>(n);
        return 1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(bio);
    return 0;
}

int socket_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
    BIO_clear_retry_flags(bio);
    ssize_t n = 0;
    do {
        n = ::recv(descriptor_of(bio), data, size, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        *read = static_cast<std::size_t>(n);
        return 1;
    }
    *read = 0;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(bio);
    return 0;  // 0 bytes: the peer's FIN, as OpenSSL's socket BIO reports it
}

long socket_control(BIO* /*bio*/, int command, long /*number*/, void* /*pointer*/) {
    return command == BIO_CTRL_FLUSH ? 1 : 0;  // nothing is buffered here
}

BIO_METHOD* socket_method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pier socket");
        BIO_meth_set_write_ex(m, &socket_write);
        BIO_meth_set_read_ex(m, &socket_read);
        BIO_meth_set_ctrl(m, &socket_control);
        return m;
    }();
    return method;
}

}  // namespace

const boost::system::error_category& tls_category() {
    static const tls_error_category category;
    return category;
}

std::unique_ptr<tls_session> tls_session::accept(const tls::server_context& context,
                                                 int descriptor) {
    SSL* ssl = context.new_session();
    if (ssl == nullptr) return nullptr;
    try {
        return std::make_unique<tls_session>(ssl, descriptor);
    } catch (const std::bad_alloc&) {
        SSL_free(ssl);  // not yet the session's
        return nullptr;
    }
}

tls_session::tls_session(SSL* ssl, int descriptor) : ssl_(ssl) {
    BIO* bio = BIO_new(socket_method());
    if (bio != nullptr) {
        BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(descriptor)));
        BIO_set_init(bio, 1);
    }
    // The session owns the BIO from here (a null one fails the handshake: no memory).
    SSL_set_bio(ssl_, bio, bio);
}

tls_session::~tls_session() { SSL_free(ssl_); }

tls_session::progress tls_session::outcome(int result, boost::system::error_code& ec) {
    const int error = SSL_get_error(ssl_, result);
    switch (error) {
        case SSL_ERROR_WANT_READ: return progress::want_read;
        case SSL_ERROR_WANT_WRITE: return progress::want_write;
        case SSL_ERROR_ZERO_RETURN:  // close_notify
            ec = boost::asio::error::eof;
            break;
        case SSL_ERROR_SYSCALL:
            if (errno != 0) {
                ec.assign(errno, boost::system::system_category());
            } else {
                ec = boost::asio::error::eof;
            }
            break;
        default: {
            const unsigned long code = ERR_peek_last_error();
            // A peer that closes its socket without close_notify: what most clients do once
            // they have what they wanted; an end, not an attack (HAProxy and nginx agree).
            if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                ec = boost::asio::error::eof;
            } else {
                ec.assign(ERR_GET_REASON(code), tls_category());
            }
            break;
        }
    }
    ERR_clear_error();
    return progress::failed;
}

tls_session::progress tls_session::handshake(boost::system::error_code& ec) {
    const std::lock_guard lock(mutex_);
    ERR_clear_error();
    errno = 0;
    const int result = SSL_do_handshake(ssl_);
    if (result == 1) return progress::done;
    return outcome(result, ec);
}

tls_session::progress tls_session::read(char* data, std::size_t size, std::size_t& bytes,
                                        boost::system::error_code& ec) {
    const std::lock_guard lock(mutex_);
    ERR_clear_error();
    errno = 0;
    bytes = 0;
    if (SSL_read_ex(ssl_, data, size, &bytes) == 1) return progress::done;
    return outcome(0, ec);
}

tls_session::progress tls_session::write(const char* data, std::size_t size, std::size_t& bytes,
                                         boost::system::error_code& ec) {
    bytes = 0;
    if (size == 0) return progress::done;
    const std::lock_guard lock(mutex_);
    ERR_clear_error();
    errno = 0;
    if (SSL_write_ex(ssl_, data, size, &bytes) == 1) return progress::done;
    return outcome(0, ec);
}

void tls_session::close_notify() {
    const std::lock_guard lock(mutex_);
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
}

bool tls_session::has_buffered() const {
    const std::lock_guard lock(mutex_);
    return SSL_pending(ssl_) > 0;
}

std::string tls_session::version() const {
    const std::lock_guard lock(mutex_);
    return SSL_get_version(ssl_);
}

std::string tls_session::alpn() const {
    const std::lock_guard lock(mutex_);
    const unsigned char* name = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(ssl_, &name, &length);
    return name != nullptr ? std::string(reinterpret_cast<const char*>(name), length) : "";
}

}  // namespace pier::net
