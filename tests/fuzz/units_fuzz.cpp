// Fuzz target: durations and sizes as config files write them ("250ms", "64KiB").
// Properties: never crashes or throws; whatever parses formats back to a string that parses
// to the same value (the round trip the config's own messages and config_diff rely on).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "pier/config/units.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pier::config;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (const auto duration = parse_duration(text); duration.ok()) {
        FUZZ_CHECK(duration.value().count() >= 0);
        const auto again = parse_duration(format_duration(duration.value()));
        FUZZ_CHECK(again.ok() && again.value() == duration.value());
    } else {
        FUZZ_CHECK(!duration.error().empty());
    }
    if (const auto bytes = parse_size(text); bytes.ok()) {
        const auto again = parse_size(format_size(bytes.value()));
        FUZZ_CHECK(again.ok() && again.value() == bytes.value());
    } else {
        FUZZ_CHECK(!bytes.error().empty());
    }
    return 0;
}
