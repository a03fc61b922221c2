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
    // One answer: options to run, --help, or one error line.
    if (!result) {
        FUZZ_CHECK(!result.error().empty());
    } else if (!result->show_help) {
        FUZZ_CHECK(!result->host.empty() || !result->port.empty());
        FUZZ_CHECK(result->connections > 0);
    }
    return 0;
}
