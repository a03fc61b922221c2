// Fuzz target: pier's YAML configuration, through yaml-cpp and all of pier's own validation.
// Properties: never crashes, throws or hangs; a result is a config or errors, never both; every
// error renders to one line that names a position within the text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "pier/config/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto result = pier::config::parse_config(text, "fuzz.yaml");
    FUZZ_CHECK(result.ok() == result.value.has_value());
    const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    for (const auto& error : result.errors) {
        const auto rendered = error.to_string();
        FUZZ_CHECK(rendered.rfind("fuzz.yaml", 0) == 0);
        FUZZ_CHECK(!error.what.empty());
        FUZZ_CHECK(error.line >= 0 && error.line <= lines + 1);
        FUZZ_CHECK(error.column >= 0);
    }
    return 0;
}
