// The message of a failed Boost.Program_options parse, without the hang Boost 1.81 has.
//
// Boost builds an error's message lazily, in what(), by replacing placeholders such as
// "%canonical_option%" with the tokens the user typed, in a loop that runs until none is left:
// a token that itself contains a placeholder never lets it end (found by fuzzing pierload's
// options; `pierd --%original_token%` hung the same way). So the message is taken from a
// second parse of a copy of the arguments with every '%' replaced by '?': no option name holds
// either character, so that parse fails the same way, and its message cannot loop.
// Header-only (pierd and pierload both parse with Boost.Program_options); any thread.
#pragma once

#include <span>
#include <string>
#include <vector>

#include <boost/program_options/errors.hpp>

namespace pier::config {

/// `parse` runs the same parse as the one that failed, on the arguments given to it.
template <typename Parse>
std::string safe_parse_error(std::span<const char* const> args, Parse&& parse) {
    std::vector<std::string> copies(args.begin(), args.end());
    for (auto& arg : copies) {
        for (auto& c : arg) {
            if (c == '%') c = '?';
        }
    }
    std::vector<const char*> sanitized;
    for (const auto& arg : copies) sanitized.push_back(arg.c_str());
    try {
        parse(std::span<const char* const>(sanitized));
    } catch (const boost::program_options::error& e) {
        return e.what();
    }
    return "invalid command line";  // not reached: the copy fails as the original did
}

}  // namespace pier::config
