// Fuzz target: pierload's command line (Boost.Program_options plus pierload's own checks:
// units, escapes in --request, source address ranges, the target). The input is split at NUL
// bytes into arguments. Properties: never crashes or throws; the answer is options, help or
// an error line, exactly one of them. (pierload parses nothing else: a line-mode response is
// framed by its delimiter and echo responses are compared byte for byte.)
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "pierload/options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> words;
    words.emplace_back();
    for (std::size_t i = 0; i < size; ++i) {
        if (data[i] == 0) {
            words.emplace_back();
        } else {
            words.back() += static_cast<char>(data[i]);
        }
    }
    std::vector<const char*> argv{"pierload"};
    for (const auto& word : words) argv.push_back(word.c_str());
    const auto result = pierload::parse_options(argv);
    const int answers =
        (result.value ? 1 : 0) + (result.help ? 1 : 0) + (result.error.empty() ? 0 : 1);
    FUZZ_CHECK(answers == 1);
    if (result.value) {
        FUZZ_CHECK(!result.value->host.empty() || !result.value->port.empty());
        FUZZ_CHECK(result.value->connections > 0);
    }
    return 0;
}
