// pierload: command line -> run -> report. Only wiring lives here.
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "pierload/options.hpp"
#include "pierload/plot.hpp"
#include "pierload/report.hpp"
#include "pierload/runner.hpp"

namespace {

namespace exit_code = pierload::exit_code;

/// Writes `what` to `path` ("-" = stdout); false with a message on failure.
template <typename Writer>
bool write_output(const std::string& path, const char* what, Writer&& writer) {
    if (path.empty()) return true;
    if (path == "-") {
        writer(std::cout);
        return true;
    }
    std::ofstream file(path);
    if (file) writer(file);
    if (!file) {
        std::cerr << "pierload: cannot write " << what << " to " << path << '\n';
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    const auto parsed = pierload::parse_options({argv, static_cast<std::size_t>(argc)});
    if (!parsed) {
        // The error alone, not the whole help after it, which would scroll it out of sight.
        std::cerr << "pierload: " << parsed.error() << "\nTry 'pierload --help' for the options.\n";
        return exit_code::usage;
    }
    const auto& opts = parsed.value();
    if (opts.show_help) {
        std::cout << pierload::usage_text();
        return exit_code::ok;
    }
    // The live line is for people watching: only on a terminal, never with --quiet.
    const bool live = !opts.quiet && isatty(STDERR_FILENO) == 1;
    try {
        const auto result = pierload::run_load(opts, [&](const pierload::second_sample& s) {
            if (live) std::cerr << pierload::live_line(s) << std::endl;
        });
        // With --json - the JSON owns stdout; the human report moves to stderr.
        std::ostream& report_out = opts.json_path == "-" ? std::cerr : std::cout;
        pierload::write_report(report_out, result);
        bool written = write_output(opts.json_path, "JSON",
                                    [&](std::ostream& out) { pierload::write_json(out, result); });
        written &= write_output(opts.hdr_path, "the histogram",
                                [&](std::ostream& out) { result.total.latency.write_hgrm(out); });
        written &= write_output(opts.plot_path, "the plot", [&](std::ostream& out) {
            out << pierload::render_svg(pierload::make_plot_input(result));
        });
        if (!written) return exit_code::failed;
        return pierload::exit_code_of(result);
    } catch (const pierload::setup_error& e) {
        std::cerr << "pierload: " << e.what() << '\n';
        return exit_code::usage;
    }
}
