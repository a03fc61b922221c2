// The message of a failed Boost.Program_options parse, without the hang Boost 1.81 has.
//
// Boost builds an error's message lazily, in what(), by replacing placeholders such as
// "%canonical_option%" with the tokens the user typed, in a loop that runs until none is left:
// a token that itself contains a placeholder never lets it end (found by fuzzing pierload's
// options; `pierd --%original_token%` hung the same way). So the message is taken from a
// second parse of a copy of the arguments with every '%' replaced by '?': no option name holds
// either character, so that parse fails the same way, and its message cannot loop.
// parse_command_line() is how pierd and pierload both parse theirs, with that message.
// Header-only; any thread.
#pragma once

#include <span>
#include <string>
#include <vector>

#include <boost/program_options/errors.hpp>
#include <boost/program_options/options_description.hpp>
#include <boost/program_options/parsers.hpp>
#include <boost/program_options/positional_options.hpp>
#include <boost/program_options/variables_map.hpp>

#include "pier/config/result.hpp"

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

/// Parses `args` (args[0] is the program name) against `options` and `positional`: the
/// variables, or the error message (from safe_parse_error(), never the exception's what()).
inline result<boost::program_options::variables_map> parse_command_line(
    std::span<const char* const> args, const boost::program_options::options_description& options,
    const boost::program_options::positional_options_description& positional = {}) {
    namespace po = boost::program_options;
    po::variables_map vm;
    const auto parse = [&](std::span<const char* const> argv) {
        po::store(po::command_line_parser(static_cast<int>(argv.size()), argv.data())
                      .options(options)
                      .positional(positional)
                      .run(),
                  vm);
        po::notify(vm);
    };
    try {
        parse(args);
    } catch (const po::error&) {
        vm.clear();
        return failure{safe_parse_error(args, parse)};
    }
    return vm;
}

}  // namespace pier::config
