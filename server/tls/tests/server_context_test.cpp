// Loading a listener's TLS context: what loads, and each way it fails named by the key and its
// position (what pierd --check-config and a failed reload print).
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <string>

#include "pier/tls/server_context.hpp"
#include "support/tls_files.hpp"

namespace pier::tls {
namespace {

using namespace std::chrono_literals;

config::key_location at(int line, const std::string& key_path) {
    return {"/etc/pier/pier.yaml", line, 7, key_path};
}

config::tls_config settings(const test::tls_files& files) {
    config::tls_config cfg;
    cfg.certificate = {files.certificate().string(), at(10, "listeners[0].tls.certificate")};
    cfg.key = {files.key().string(), at(11, "listeners[0].tls.key")};
    return cfg;
}

TEST_CASE("tls context: a matching certificate and key load, with the expiry") {
    const test::tls_files files;
    const auto loaded = server_context::load(settings(files));
    CHECK(loaded.errors.empty());
    CHECK(loaded.warnings.empty());
    REQUIRE(loaded.context != nullptr);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    CHECK(loaded.context->certificate_expiry() > now + 23 * 3600);
    CHECK(loaded.context->certificate_expiry() < now + 25 * 3600);
    SSL* session = loaded.context->new_session();
    CHECK(session != nullptr);
    SSL_free(session);
}

TEST_CASE("tls context: a missing file is an error at its key") {
    const test::tls_files files;
    auto cfg = settings(files);
    cfg.certificate.text = (files.directory() / "missing.pem").string();
    const auto loaded = server_context::load(cfg);
    CHECK(loaded.context == nullptr);
    REQUIRE(loaded.errors.size() == 1);
    CHECK(loaded.errors[0].to_string() ==
          "/etc/pier/pier.yaml:10:7: listeners[0].tls.certificate: cannot read " +
              cfg.certificate.text + ": No such file or directory");
}

TEST_CASE("tls context: a key that does not match the certificate is an error at the key") {
    const test::tls_files files;
    auto cfg = settings(files);
    cfg.key.text = files.other_key().string();
    const auto loaded = server_context::load(cfg);
    CHECK(loaded.context == nullptr);
    REQUIRE(loaded.errors.size() == 1);
    CHECK(loaded.errors[0].to_string() ==
          "/etc/pier/pier.yaml:11:7: listeners[0].tls.key: the key in " + cfg.key.text +
              " does not match the certificate in " + cfg.certificate.text);
}

TEST_CASE("tls context: a file that holds no PEM is an error at its key") {
    const test::tls_files files;
    const auto junk = files.directory() / "junk.pem";
    std::ofstream(junk) << "not a certificate\n";
    auto cfg = settings(files);
    cfg.certificate.text = junk.string();
    const auto loaded = server_context::load(cfg);
    REQUIRE(loaded.errors.size() == 1);
    CHECK(loaded.errors[0].to_string().starts_with(
        "/etc/pier/pier.yaml:10:7: listeners[0].tls.certificate: no PEM certificate chain in " +
        junk.string()));
}

TEST_CASE("tls context: a cipher list OpenSSL rejects is an error at its key") {
    const test::tls_files files;
    auto cfg = settings(files);
    cfg.ciphers = {"NOT-A-CIPHER", at(12, "listeners[0].tls.ciphers")};
    const auto loaded = server_context::load(cfg);
    REQUIRE(loaded.errors.size() == 1);
    CHECK(loaded.errors[0].to_string().starts_with(
        "/etc/pier/pier.yaml:12:7: listeners[0].tls.ciphers: no usable cipher in the list"));
}

TEST_CASE("tls context: an expired certificate loads, with a warning") {
    const test::tls_files files("localhost", -48h, -24h);
    const auto loaded = server_context::load(settings(files));
    CHECK(loaded.errors.empty());
    CHECK(loaded.context != nullptr);
    REQUIRE(loaded.warnings.size() == 1);
    CHECK(loaded.warnings[0].to_string().find("listeners[0].tls.certificate: the certificate in") !=
          std::string::npos);
    CHECK(loaded.warnings[0].to_string().find("expired on") != std::string::npos);
}

TEST_CASE("tls context: a relative path is read from the config file's directory") {
    const test::tls_files files;
    auto cfg = settings(files);
    cfg.certificate.text = "certificate.pem";
    cfg.certificate.at.source = (files.directory() / "pier.yaml").string();
    cfg.key.text = "key.pem";
    cfg.key.at.source = cfg.certificate.at.source;
    const auto loaded = server_context::load(cfg);
    CHECK(loaded.errors.empty());
    CHECK(loaded.context != nullptr);
}

}  // namespace
}  // namespace pier::tls
