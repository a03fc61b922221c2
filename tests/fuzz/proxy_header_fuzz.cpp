// Fuzz target: the PROXY protocol v1/v2 header parser, fed the first bytes of a connection.
// Properties: never crashes, throws or reads past its input; a verdict is consistent (done
// consumed at most the input and at most max_proxy_header bytes; incomplete only while the
// input is shorter than the longest header; invalid says why); a verdict on a whole input
// does not change when bytes follow it (the parser decides on what it has read, so a header
// split over several reads gets the same verdict); a parsed header encodes back to one that
// parses to the same addresses; in an accepted v2 PROXY header with addresses, the TLVs after
// them fill the header exactly (checked here independently of the parser).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "pier/net/proxy_protocol.hpp"

namespace {

using namespace pier::net;

void check_round_trip(const proxy_header& header) {
    if (header.local) return;
    for (const auto version :
         {pier::config::proxy_protocol::v1, pier::config::proxy_protocol::v2}) {
        const auto encoded = encode_proxy_header(version, header.source, header.destination);
        const auto again = parse_proxy_header(encoded);
        FUZZ_CHECK(again.state == proxy_parse::status::done);
        FUZZ_CHECK(again.consumed == encoded.size());
        if (header.source.protocol() != header.destination.protocol()) {
            FUZZ_CHECK(again.header.local);  // mixed families are announced as LOCAL/UNKNOWN
            continue;
        }
        FUZZ_CHECK(!again.header.local);
        FUZZ_CHECK(again.header.source == header.source);
        FUZZ_CHECK(again.header.destination == header.destination);
    }
}

/// proxy-protocol.txt 2.2: a v2 PROXY header of a family with an address block is followed by
/// whole TLVs (type, 16-bit length, value) up to its last byte. LOCAL and UNSPEC blocks are
/// discarded unread, and v1 has no TLVs.
void check_v2_tlvs_fill(std::string_view header) {
    if (header.size() < 16 || header.front() != '\r') return;
    if ((static_cast<unsigned char>(header[12]) & 0x0F) != 0x1) return;  // not PROXY
    std::size_t at = 16;
    switch (static_cast<unsigned char>(header[13])) {
        case 0x11: at += 12; break;   // TCP over IPv4
        case 0x21: at += 36; break;   // TCP over IPv6
        case 0x31: at += 216; break;  // UNIX stream
        default: return;
    }
    FUZZ_CHECK(at <= header.size());
    while (at < header.size()) {
        FUZZ_CHECK(header.size() - at >= 3);
        at += 3 + ((static_cast<std::size_t>(static_cast<unsigned char>(header[at + 1])) << 8) |
                   static_cast<unsigned char>(header[at + 2]));
    }
    FUZZ_CHECK(at == header.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A copy of exactly `size` bytes on the heap: ASan then catches a read past the end.
    const std::string input(reinterpret_cast<const char*>(data), size);
    const auto verdict = parse_proxy_header(std::string_view(input.data(), input.size()));
    switch (verdict.state) {
        case proxy_parse::status::incomplete: FUZZ_CHECK(size < max_proxy_header); break;
        case proxy_parse::status::done:
            FUZZ_CHECK(verdict.consumed > 0 && verdict.consumed <= size);
            FUZZ_CHECK(verdict.consumed <= max_proxy_header);
            check_round_trip(verdict.header);
            check_v2_tlvs_fill(std::string_view(input.data(), verdict.consumed));
            break;
        case proxy_parse::status::invalid: FUZZ_CHECK(!verdict.error.empty()); break;
    }
    // More bytes after a decided verdict change nothing: the header ends where it ended.
    if (verdict.state != proxy_parse::status::incomplete) {
        const auto longer = parse_proxy_header(input + std::string(8, 'x'));
        FUZZ_CHECK(longer.state == verdict.state);
        FUZZ_CHECK(longer.consumed == verdict.consumed);
    }
    return 0;
}
