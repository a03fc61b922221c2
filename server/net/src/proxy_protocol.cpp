#include "pier/net/proxy_protocol.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <vector>

#include <optional>

#include <fmt/format.h>

namespace pier::net {
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

// --- parsing ------------------------------------------------------------------------------

constexpr std::string_view v1_prefix = "PROXY ";
/// proxy-protocol.txt 2.1: the longest v1 line, CRLF included ("PROXY UNKNOWN" with two
/// full IPv6 addresses and ports).
constexpr std::size_t v1_max_line = 107;
constexpr unsigned char v2_local_command = 0x0;
constexpr unsigned char v2_proxy_command = 0x1;
constexpr unsigned char af_unspec = 0x00;
constexpr unsigned char unix_stream = 0x31;

proxy_parse invalid(std::string error) {
    proxy_parse p;
    p.state = proxy_parse::status::invalid;
    p.error = std::move(error);
    return p;
}

proxy_parse incomplete() { return {}; }

proxy_parse done(std::size_t consumed, proxy_header header) {
    proxy_parse p;
    p.state = proxy_parse::status::done;
    p.consumed = consumed;
    p.header = header;
    return p;
}

std::uint16_t read_u16(std::string_view data, std::size_t at) {
    return static_cast<std::uint16_t>((static_cast<unsigned char>(data[at]) << 8) |
                                      static_cast<unsigned char>(data[at + 1]));
}

/// A port as v1 writes it: 1 to 5 digits, no leading zero, at most 65535.
std::optional<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return {};
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > 65535) return {};
    return static_cast<std::uint16_t>(value);
}

/// An address as v1 writes it: what inet_pton reads for the family. Asio also takes an IPv6
/// scope ("fe80::1%eth0"), which the specification does not allow and v2 cannot carry.
std::optional<boost::asio::ip::address> parse_v1_address(std::string_view text, bool v4) {
    if (text.find('%') != std::string_view::npos) return {};
    boost::system::error_code ec;
    const auto address =
        v4 ? boost::asio::ip::address(boost::asio::ip::make_address_v4(std::string(text), ec))
           : boost::asio::ip::address(boost::asio::ip::make_address_v6(std::string(text), ec));
    if (ec) return {};
    return address;
}

std::vector<std::string_view> split_spaces(std::string_view line) {
    std::vector<std::string_view> tokens;
    std::size_t start = 0;
    for (;;) {
        const auto space = line.find(' ', start);
        tokens.push_back(line.substr(start, space - start));
        if (space == std::string_view::npos) return tokens;
        start = space + 1;
    }
}

proxy_parse parse_v1(std::string_view data) {
    const auto prefix = data.substr(0, v1_prefix.size());
    if (prefix != v1_prefix.substr(0, prefix.size())) return invalid("not a PROXY protocol header");
    const auto end = data.substr(0, v1_max_line).find("\r\n");
    if (end == std::string_view::npos) {
        // Only printable ASCII may come before the CRLF.
        const auto scanned = data.substr(0, v1_max_line);
        const bool printable = std::all_of(scanned.begin(), scanned.end(), [](char c) {
            return c == '\r' || (c >= 0x20 && c < 0x7f);
        });
        if (!printable) return invalid("v1: a control character");
        if (data.size() >= v1_max_line) return invalid("v1: no CRLF within 107 bytes");
        return incomplete();
    }
    const auto line = data.substr(0, end);
    if (!std::all_of(line.begin(), line.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
        return invalid("v1: a control character");
    }
    const auto tokens = split_spaces(line);
    const std::size_t consumed = end + 2;
    if (tokens.size() >= 2 && tokens[1] == "UNKNOWN") return done(consumed, {true, {}, {}});
    if (tokens.size() != 6) return invalid("v1: expected PROXY TCP4|TCP6 src dst sport dport");
    const bool v4 = tokens[1] == "TCP4";
    if (!v4 && tokens[1] != "TCP6")
        return invalid("v1: unknown protocol (expected TCP4, TCP6 or UNKNOWN)");
    const auto source = parse_v1_address(tokens[2], v4);
    if (!source) return invalid("v1: bad source address");
    const auto destination = parse_v1_address(tokens[3], v4);
    if (!destination) return invalid("v1: bad destination address");
    const auto source_port = parse_port(tokens[4]);
    const auto destination_port = parse_port(tokens[5]);
    if (!source_port || !destination_port) return invalid("v1: bad port");
    return done(consumed, {false, {*source, *source_port}, {*destination, *destination_port}});
}

/// proxy-protocol.txt 2.2: the size of the address block of a PROXY command's family (after
/// it come the TLVs), or nullopt for one that is not a stream. UNSPEC has none to read: its
/// block, if any, is skipped whole, as LOCAL's is.
std::optional<std::size_t> v2_address_length(unsigned char family) {
    switch (family) {
        case tcp_over_ipv4: return 12;
        case tcp_over_ipv6: return 36;
        case unix_stream: return 216;
        default: return std::nullopt;
    }
}

/// proxy-protocol.txt 2.2: what follows the addresses is a run of TLVs (a type byte, a
/// 16-bit big-endian length, that many bytes of value) that fills the header exactly. Their
/// values are not used, but a TLV cut by the header's end means the header is not what it
/// claims to be: rejected (as HAProxy does), never skipped.
std::optional<std::string> check_v2_tlvs(std::string_view tlvs) {
    constexpr std::size_t tlv_header = 3;
    while (!tlvs.empty()) {
        if (tlvs.size() < tlv_header) return "v2: a TLV header cut short by the header's end";
        const std::size_t value_length = read_u16(tlvs, 1);
        if (value_length > tlvs.size() - tlv_header) return "v2: a TLV runs past the header's end";
        tlvs.remove_prefix(tlv_header + value_length);
    }
    return std::nullopt;
}

proxy_parse parse_v2(std::string_view data) {
    const std::size_t prefix = std::min(data.size(), v2_signature.size());
    if (!std::equal(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(prefix),
                    v2_signature.begin(),
                    [](char a, unsigned char b) { return static_cast<unsigned char>(a) == b; })) {
        return invalid("not a PROXY protocol header");
    }
    constexpr std::size_t fixed = 16;  // signature, version and command, family, length
    if (data.size() < fixed) return incomplete();
    const auto version_command = static_cast<unsigned char>(data[12]);
    if ((version_command >> 4) != 2) return invalid("v2: unsupported version");
    const unsigned command = version_command & 0x0F;
    if (command != v2_local_command && command != v2_proxy_command) {
        return invalid("v2: unknown command");
    }
    const auto family = static_cast<unsigned char>(data[13]);
    const std::size_t length = read_u16(data, 14);
    if (fixed + length > max_proxy_header) return invalid("v2: header longer than 1040 bytes");
    if (data.size() < fixed + length) return incomplete();
    const std::size_t consumed = fixed + length;
    // LOCAL: a health check from the proxy itself; the specification says to discard the
    // block (addresses, TLVs) whatever it holds. An UNSPEC block is discarded the same way:
    // it names no client, and its addresses have no defined size to find TLVs after.
    if (command == v2_local_command || family == af_unspec) return done(consumed, {true, {}, {}});
    const auto address_length = v2_address_length(family);
    if (!address_length) return invalid("v2: not a stream protocol (UDP or unknown family)");
    const auto body = data.substr(fixed, length);
    if (length < *address_length) {
        return invalid(family == tcp_over_ipv4   ? "v2: IPv4 addresses truncated"
                       : family == tcp_over_ipv6 ? "v2: IPv6 addresses truncated"
                                                 : "v2: UNIX addresses truncated");
    }
    if (auto error = check_v2_tlvs(body.substr(*address_length))) return invalid(*error);
    if (family == tcp_over_ipv4) {
        boost::asio::ip::address_v4::bytes_type source{};
        boost::asio::ip::address_v4::bytes_type destination{};
        std::copy_n(body.begin(), 4, source.begin());
        std::copy_n(body.begin() + 4, 4, destination.begin());
        return done(consumed, {false,
                               {boost::asio::ip::address_v4(source), read_u16(body, 8)},
                               {boost::asio::ip::address_v4(destination), read_u16(body, 10)}});
    }
    if (family == tcp_over_ipv6) {
        boost::asio::ip::address_v6::bytes_type source{};
        boost::asio::ip::address_v6::bytes_type destination{};
        std::copy_n(body.begin(), 16, source.begin());
        std::copy_n(body.begin() + 16, 16, destination.begin());
        return done(consumed, {false,
                               {boost::asio::ip::address_v6(source), read_u16(body, 32)},
                               {boost::asio::ip::address_v6(destination), read_u16(body, 34)}});
    }
    // A client behind a UNIX socket has no IP address: nothing to take.
    return done(consumed, {true, {}, {}});
}

}  // namespace

proxy_parse parse_proxy_header(std::string_view data) {
    if (data.empty()) return incomplete();
    if (data.front() == '\r') return parse_v2(data);
    if (data.front() == 'P') return parse_v1(data);
    return invalid("not a PROXY protocol header");
}

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

}  // namespace pier::net
