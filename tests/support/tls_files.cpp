#include "support/tls_files.hpp"

#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace pier::test {
namespace {

struct key_deleter {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct certificate_deleter {
    void operator()(X509* certificate) const { X509_free(certificate); }
};
struct file_closer {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

using key_ptr = std::unique_ptr<EVP_PKEY, key_deleter>;

key_ptr new_key() {
    key_ptr key(EVP_EC_gen("P-256"));
    if (!key) throw std::runtime_error("tls_files: cannot make an EC key");
    return key;
}

std::unique_ptr<std::FILE, file_closer> open_for_writing(const std::filesystem::path& path) {
    std::unique_ptr<std::FILE, file_closer> file(std::fopen(path.c_str(), "w"));
    if (!file) throw std::runtime_error("tls_files: cannot write " + path.string());
    return file;
}

void write_key(const std::filesystem::path& path, EVP_PKEY* key) {
    auto file = open_for_writing(path);
    if (PEM_write_PrivateKey(file.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        throw std::runtime_error("tls_files: cannot write the key");
    }
}

void add_extension(X509* certificate, int nid, const char* value) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    if (extension == nullptr) throw std::runtime_error("tls_files: bad extension");
    X509_add_ext(certificate, extension, -1);
    X509_EXTENSION_free(extension);
}

}  // namespace

tls_files::tls_files(std::string common_name, std::chrono::seconds not_before,
                     std::chrono::seconds not_after) {
    std::random_device random;
    directory_ = std::filesystem::temp_directory_path() /
                 ("pier-tls-" + std::to_string(random()) + std::to_string(random()));
    std::filesystem::create_directories(directory_);
    certificate_ = directory_ / "certificate.pem";
    key_ = directory_ / "key.pem";
    other_key_ = directory_ / "other_key.pem";

    const auto key = new_key();
    std::unique_ptr<X509, certificate_deleter> certificate(X509_new());
    X509_set_version(certificate.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), static_cast<long>(random() >> 1));
    X509_gmtime_adj(X509_getm_notBefore(certificate.get()), not_before.count());
    X509_gmtime_adj(X509_getm_notAfter(certificate.get()), not_after.count());
    X509_set_pubkey(certificate.get(), key.get());
    X509_NAME* name = X509_get_subject_name(certificate.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(certificate.get(), name);
    const std::string alt_names = "DNS:" + common_name + ",IP:127.0.0.1";
    add_extension(certificate.get(), NID_subject_alt_name, alt_names.c_str());
    add_extension(certificate.get(), NID_basic_constraints, "critical,CA:TRUE");
    if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) {
        throw std::runtime_error("tls_files: cannot sign the certificate");
    }
    {
        auto file = open_for_writing(certificate_);
        PEM_write_X509(file.get(), certificate.get());
    }
    write_key(key_, key.get());
    write_key(other_key_, new_key().get());
}

tls_files::~tls_files() {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
}

}  // namespace pier::test
