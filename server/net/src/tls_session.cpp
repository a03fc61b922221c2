#include "pier/net/tls_session.hpp"

#include <cerrno>
#include <string>

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

}  // namespace

const boost::system::error_category& tls_category() {
    static const tls_error_category category;
    return category;
}

tls_session::tls_session(SSL* ssl, int descriptor) : ssl_(ssl) {
    // A socket BIO without the close flag: the socket stays the byte_stream's to close.
    SSL_set_fd(ssl_, descriptor);
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
