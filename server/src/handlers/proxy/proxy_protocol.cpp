#include "pier/handlers/proxy/proxy_protocol.hpp"

#include <array>
#include <cstdint>

#include <fmt/format.h>

namespace pier::handlers::proxy {
namespace {

// proxy-protocol.txt section 2.2: the v2 signature, then version 2 with command PROXY (0x21)
// or LOCAL (0x20), then the family and transport byte.
constexpr std::array<unsigned char, 12> v2_signature{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                     0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr unsigned char v2_proxy = 0x21;
constexpr unsigned char v2_local = 0x20;
constexpr unsigned char tcp_over_ipv4 = 0x11;
constexpr unsigned char tcp_over_ipv6 = 0x21;

void append_u16(std::string& out, std::uint16_t value) {
    out += static_cast<char>(value >> 8);
    out += static_cast<char>(value & 0xFF);
}

template <typename Bytes>
void append_bytes(std::string& out, const Bytes& bytes) {
    for (const auto b : bytes) out += static_cast<char>(b);
}

std::string encode_v1(const boost::asio::ip::tcp::endpoint& source,
                      const boost::asio::ip::tcp::endpoint& destination) {
    if (source.address().is_v4() != destination.address().is_v4()) return "PROXY UNKNOWN\r\n";
    return fmt::format("PROXY {} {} {} {} {}\r\n", source.address().is_v4() ? "TCP4" : "TCP6",
                       source.address().to_string(), destination.address().to_string(),
                       source.port(), destination.port());
}

std::string encode_v2(const boost::asio::ip::tcp::endpoint& source,
                      const boost::asio::ip::tcp::endpoint& destination) {
    std::string out;
    append_bytes(out, v2_signature);
    const bool v4 = source.address().is_v4() && destination.address().is_v4();
    const bool v6 = source.address().is_v6() && destination.address().is_v6();
    if (!v4 && !v6) {
        out += static_cast<char>(v2_local);
        out += '\0';  // AF_UNSPEC
        append_u16(out, 0);
        return out;
    }
    out += static_cast<char>(v2_proxy);
    out += static_cast<char>(v4 ? tcp_over_ipv4 : tcp_over_ipv6);
    append_u16(out, v4 ? 12 : 36);
    if (v4) {
        append_bytes(out, source.address().to_v4().to_bytes());
        append_bytes(out, destination.address().to_v4().to_bytes());
    } else {
        append_bytes(out, source.address().to_v6().to_bytes());
        append_bytes(out, destination.address().to_v6().to_bytes());
    }
    append_u16(out, source.port());
    append_u16(out, destination.port());
    return out;
}

}  // namespace

std::string encode_proxy_header(config::proxy_protocol version,
                                const boost::asio::ip::tcp::endpoint& source,
                                const boost::asio::ip::tcp::endpoint& destination) {
    switch (version) {
        case config::proxy_protocol::none: return {};
        case config::proxy_protocol::v1: return encode_v1(source, destination);
        case config::proxy_protocol::v2: return encode_v2(source, destination);
    }
    return {};
}

}  // namespace pier::handlers::proxy
