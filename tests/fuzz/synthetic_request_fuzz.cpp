// Fuzz target: the synthetic handler's request line, bytes straight from a peer.
// Properties: never crashes or throws; an accepted request stays within the handler's bounds
// (a peer cannot ask for more CPU, delay or response than the config allows; a response
// holds at least its '\n'); a rejection is one line of text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_check.hpp"
#include "pier/config/config.hpp"
#include "pier/handlers/synthetic_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using limits = pier::config::synthetic_config;
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    const pier::handlers::synthetic_request defaults;
    const auto parsed = pier::handlers::parse_synthetic_request(line, defaults);
    if (parsed) {
        const auto& request = parsed.value();
        FUZZ_CHECK(request.cpu.count() >= 0 && request.cpu <= limits::max_cpu);
        FUZZ_CHECK(request.delay.count() >= 0 && request.delay <= limits::max_delay);
        FUZZ_CHECK(request.size >= 1 && request.size <= limits::max_response_bytes);
    } else {
        const auto& reason = parsed.error();
        FUZZ_CHECK(!reason.empty());
        FUZZ_CHECK(reason.find('\n') == std::string::npos);
    }
    return 0;
}
