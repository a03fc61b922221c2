// Unit tests for the PROXY protocol: the header bytes pier sends (send_proxy), and the strict
// sans-io parser for headers a proxy in front of pier sends: every valid form, every prefix of
// one (incomplete), and the malformed ones a peer could try.
#include <doctest/doctest.h>

#include <string>

#include "pier/net/proxy_protocol.hpp"

using namespace pier;
using namespace pier::net;
using boost::asio::ip::make_address;
using endpoint = boost::asio::ip::tcp::endpoint;
using status = proxy_parse::status;

namespace {

const endpoint client4(make_address("192.0.2.10"), 51234);
const endpoint server4(make_address("198.51.100.1"), 6379);
const endpoint client6(make_address("2001:db8::1"), 40000);
const endpoint server6(make_address("::1"), 443);

/// The parse of `header` followed by `then`, every proper prefix of `header` checked to be
/// incomplete.
proxy_parse parse_whole(const std::string& header, const std::string& then = "") {
    for (std::size_t n = 0; n < header.size(); ++n) {
        CAPTURE(n);
        REQUIRE(parse_proxy_header(header.substr(0, n)).state == status::incomplete);
    }
    return parse_proxy_header(header + then);
}

/// A v2 PROXY header of `family` whose length field covers exactly `block` (addresses, TLVs).
std::string v2_proxy(char family, const std::string& block) {
    std::string header = std::string("\r\n\r\n\0\r\nQUIT\n", 12) + '\x21' + family;
    header += static_cast<char>(block.size() >> 8);
    header += static_cast<char>(block.size() & 0xFF);
    return header + block;
}

/// The 12 address bytes of a v2 TCP/IPv4 header (client4 to server4).
std::string ipv4_addresses() {
    return encode_proxy_header(config::proxy_protocol::v2, client4, server4).substr(16);
}

std::string error_of(const std::string& bytes) {
    const auto result = parse_proxy_header(bytes);
    CHECK(result.state == status::invalid);
    return result.error;
}

}  // namespace

TEST_CASE("proxy protocol: v1 and v2 headers, byte for byte") {
    CHECK(encode_proxy_header(config::proxy_protocol::v1, client4, server4) ==
          "PROXY TCP4 192.0.2.10 198.51.100.1 51234 6379\r\n");
    CHECK(encode_proxy_header(config::proxy_protocol::v1, client6, server6) ==
          "PROXY TCP6 2001:db8::1 ::1 40000 443\r\n");
    CHECK(encode_proxy_header(config::proxy_protocol::v1, client4, server6) == "PROXY UNKNOWN\r\n");
    CHECK(encode_proxy_header(config::proxy_protocol::none, client4, server4).empty());

    const std::string v2 = encode_proxy_header(config::proxy_protocol::v2, client4, server4);
    const std::string expected_v4 =
        std::string("\r\n\r\n\0\r\nQUIT\n", 12) +
        std::string("\x21\x11\x00\x0c", 4) +                  // v2 PROXY, TCP/IPv4, 12 bytes
        std::string("\xc0\x00\x02\x0a\xc6\x33\x64\x01", 8) +  // 192.0.2.10, 198.51.100.1
        std::string("\xc8\x22\x18\xeb", 4);                   // 51234, 6379
    CHECK(v2 == expected_v4);
    const std::string v2_6 = encode_proxy_header(config::proxy_protocol::v2, client6, server6);
    CHECK(v2_6.size() == 16 + 36);
    CHECK(v2_6.substr(12, 4) == std::string("\x21\x21\x00\x24", 4));  // TCP/IPv6, 36 bytes
    const std::string local = encode_proxy_header(config::proxy_protocol::v2, client4, server6);
    CHECK(local.substr(12) == std::string("\x20\x00\x00\x00", 4));  // LOCAL, no addresses
}

TEST_CASE("proxy protocol: what the encoder writes, the parser reads back") {
    for (const auto version : {config::proxy_protocol::v1, config::proxy_protocol::v2}) {
        for (const auto& [source, destination] :
             {std::pair{client4, server4}, std::pair{client6, server6}}) {
            const auto header = encode_proxy_header(version, source, destination);
            CAPTURE(header);
            const auto parsed = parse_whole(header, "client bytes");
            REQUIRE(parsed.state == status::done);
            CHECK(parsed.consumed == header.size());  // the client's bytes are left alone
            CHECK_FALSE(parsed.header.local);
            CHECK(parsed.header.source == source);
            CHECK(parsed.header.destination == destination);
        }
    }
}

TEST_CASE("proxy protocol: UNKNOWN, LOCAL and address-less families mean no client address") {
    auto unknown = parse_proxy_header("PROXY UNKNOWN\r\n");
    CHECK(unknown.state == status::done);
    CHECK(unknown.header.local);
    CHECK(unknown.consumed == 15);
    // v1 UNKNOWN may carry addresses: they are ignored.
    CHECK(parse_proxy_header("PROXY UNKNOWN ffff::1 ::1 1 2\r\n").header.local);
    const auto local = encode_proxy_header(config::proxy_protocol::v2, client4, server6);
    CHECK(parse_whole(local).header.local);
    // v2 PROXY over a UNIX stream socket, with its 216 bytes of paths.
    std::string unix_stream = std::string("\r\n\r\n\0\r\nQUIT\n", 12) + "\x21\x31" +
                              std::string("\x00\xd8", 2) + std::string(216, 'p');
    const auto parsed = parse_whole(unix_stream);
    CHECK(parsed.state == status::done);
    CHECK(parsed.header.local);
    CHECK(parsed.consumed == unix_stream.size());
}

TEST_CASE("proxy protocol: v2 TLVs after the addresses are skipped") {
    auto header = encode_proxy_header(config::proxy_protocol::v2, client4, server4);
    header[15] = static_cast<char>(12 + 7);             // addresses + one TLV
    header += std::string("\x04\x00\x04", 3) + "abcd";  // PP2_TYPE_NOOP, 4 bytes
    const auto parsed = parse_whole(header, "GET");
    REQUIRE(parsed.state == status::done);
    CHECK(parsed.consumed == header.size());
    CHECK(parsed.header.source == client4);
}

// Proves the TLVs after the addresses must fill the header exactly (proxy-protocol.txt 2.2):
// a TLV whose length runs past the header's end (0xFFFF, or one byte too many) and bytes too
// few for a TLV's 3-byte type and length are rejected, for every family that has TLVs, even
// after a valid TLV; a zero-length TLV ending exactly at the end is fine.
TEST_CASE("proxy protocol: v2 TLVs that do not fit the header are rejected") {
    const std::string past_end = "v2: a TLV runs past the header's end";
    const std::string cut_short = "v2: a TLV header cut short by the header's end";
    const std::string noop = std::string("\x04\x00\x04", 3) + "abcd";  // a valid TLV
    const auto ipv6 = encode_proxy_header(config::proxy_protocol::v2, client6, server6).substr(16);
    const std::string unix_paths(216, 'p');
    for (const auto& [family, addresses] :
         {std::pair{'\x11', ipv4_addresses()}, std::pair{'\x21', ipv6},
          std::pair{'\x31', unix_paths}}) {
        CAPTURE(static_cast<int>(family));
        // The case: a length of 0xFFFF with 4 bytes left.
        CHECK(error_of(v2_proxy(family, addresses + std::string("\x04\xff\xff", 3) + "abcd")) ==
              past_end);
        CHECK(error_of(v2_proxy(family, addresses + std::string("\x04\x00\x05", 3) + "abcd")) ==
              past_end);
        CHECK(error_of(v2_proxy(family, addresses + noop + std::string("\x04\x00\x01", 3))) ==
              past_end);
        CHECK(error_of(v2_proxy(family, addresses + "\x04")) == cut_short);
        CHECK(error_of(v2_proxy(family, addresses + std::string("\x04\x00", 2))) == cut_short);
        CHECK(error_of(v2_proxy(family, addresses + noop + std::string("\x01\x00", 2))) ==
              cut_short);

        const auto fits = v2_proxy(family, addresses + noop + std::string("\x04\x00\x00", 3));
        const auto parsed = parse_whole(fits, "client bytes");
        CHECK(parsed.state == status::done);
        CHECK(parsed.consumed == fits.size());
    }
}

// Proves a UNIX address block shorter than its 216 bytes is rejected, like IPv4's and IPv6's
// (the header's end cuts the addresses), rather than taken as a header without a client.
TEST_CASE("proxy protocol: v2 UNIX addresses cut by the header's end are rejected") {
    CHECK(error_of(v2_proxy('\x31', std::string(215, 'p'))) == "v2: UNIX addresses truncated");
    CHECK(error_of(v2_proxy('\x31', "")) == "v2: UNIX addresses truncated");
    auto ipv6 = encode_proxy_header(config::proxy_protocol::v2, client6, server6).substr(16);
    CHECK(error_of(v2_proxy('\x21', ipv6.substr(0, 35))) == "v2: IPv6 addresses truncated");
}

// Proves LOCAL and UNSPEC blocks are discarded whatever they hold, as the specification says
// for LOCAL (a health check from the proxy itself): there are no addresses to take from them,
// so their bytes are not read as addresses or TLVs.
TEST_CASE("proxy protocol: v2 LOCAL and UNSPEC skip their block whole") {
    const std::string odd_block = std::string("\x04\xff\xff", 3) + "ab";
    auto local = v2_proxy('\x11', odd_block);
    local[12] = '\x20';  // LOCAL
    const auto parsed_local = parse_whole(local);
    CHECK(parsed_local.state == status::done);
    CHECK(parsed_local.header.local);
    CHECK(parsed_local.consumed == local.size());
    const auto unspec = v2_proxy('\x00', odd_block);
    const auto parsed_unspec = parse_whole(unspec);
    CHECK(parsed_unspec.state == status::done);
    CHECK(parsed_unspec.header.local);
    CHECK(parsed_unspec.consumed == unspec.size());
}

TEST_CASE("proxy protocol: malformed v1 lines are rejected") {
    CHECK(error_of("GET / HTTP/1.1\r\n\r\n") == "not a PROXY protocol header");
    CHECK(error_of("PROXI TCP4") == "not a PROXY protocol header");
    CHECK(error_of("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n") ==
          "v1: unknown protocol (expected TCP4, TCP6 or UNKNOWN)");
    CHECK(error_of("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n") ==
          "v1: expected PROXY TCP4|TCP6 src dst sport dport");
    CHECK(error_of("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n") ==
          "v1: expected PROXY TCP4|TCP6 src dst sport dport");  // two spaces
    CHECK(error_of("PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n") == "v1: bad source address");
    CHECK(error_of("PROXY TCP4 ::1 5.6.7.8 1 2\r\n") == "v1: bad source address");
    CHECK(error_of("PROXY TCP6 ::1 5.6.7.8 1 2\r\n") == "v1: bad destination address");
    // An IPv6 scope is not an address inet_pton reads (found by fuzz_proxy_header).
    CHECK(error_of("PROXY TCP6 2001:: 08::%4 0 0\r\n") == "v1: bad destination address");
    CHECK(error_of("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n") == "v1: bad source address");
    CHECK(error_of("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n") == "v1: bad port");
    CHECK(error_of("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n") == "v1: bad port");
    CHECK(error_of("PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n") == "v1: bad port");
    CHECK(error_of("PROXY TCP4 1.2.3.4\n5.6.7.8 1 2\r\n") == "v1: a control character");
    CHECK(error_of("PROXY TCP4 1.2.3.4\n") == "v1: a control character");
    CHECK(error_of("PROXY " + std::string(101, 'A')) == "v1: no CRLF within 107 bytes");
    // 106 bytes without a CRLF may still end well: wait for more.
    CHECK(parse_proxy_header("PROXY " + std::string(100, 'A')).state == status::incomplete);
}

TEST_CASE("proxy protocol: malformed v2 headers are rejected") {
    const auto good = encode_proxy_header(config::proxy_protocol::v2, client4, server4);
    auto wrong_version = good;
    wrong_version[12] = '\x11';
    CHECK(error_of(wrong_version) == "v2: unsupported version");
    auto wrong_command = good;
    wrong_command[12] = '\x22';
    CHECK(error_of(wrong_command) == "v2: unknown command");
    auto short_addresses = good;
    short_addresses[15] = '\x08';
    CHECK(error_of(short_addresses.substr(0, 16 + 8)) == "v2: IPv4 addresses truncated");
    auto udp = good;
    udp[13] = '\x12';
    CHECK(error_of(udp) == "v2: not a stream protocol (UDP or unknown family)");
    auto huge = good;
    huge[14] = '\xff';
    CHECK(error_of(huge) == "v2: header longer than 1040 bytes");
    auto bad_signature = good;
    bad_signature[5] = 'X';
    CHECK(error_of(bad_signature) == "not a PROXY protocol header");
    CHECK(error_of(std::string("\r\nGET", 5)) == "not a PROXY protocol header");
}
