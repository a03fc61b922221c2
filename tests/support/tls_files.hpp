// Certificates and keys for TLS tests, made at run time with OpenSSL (no key material in the
// repository): a self-signed ECDSA P-256 certificate for "localhost" and 127.0.0.1, its key,
// and variants (expired, another key), in a temporary directory removed with the object.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace pier::test {

class tls_files {
public:
    /// A certificate valid from `not_before` to `not_after` (offsets from now; an expired one
    /// has both in the past) for `common_name`, and its key.
    explicit tls_files(std::string common_name = "localhost",
                       std::chrono::seconds not_before = -std::chrono::hours(1),
                       std::chrono::seconds not_after = std::chrono::hours(24));
    ~tls_files();
    tls_files(const tls_files&) = delete;
    tls_files& operator=(const tls_files&) = delete;

    const std::filesystem::path& directory() const { return directory_; }
    /// The certificate (PEM), also the trust anchor a client verifies it with.
    const std::filesystem::path& certificate() const { return certificate_; }
    /// Its private key (PEM).
    const std::filesystem::path& key() const { return key_; }
    /// A private key that does not match the certificate.
    const std::filesystem::path& other_key() const { return other_key_; }

private:
    std::filesystem::path directory_;
    std::filesystem::path certificate_;
    std::filesystem::path key_;
    std::filesystem::path other_key_;
};

}  // namespace pier::test
