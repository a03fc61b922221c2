// Turning a run_result into what people and scripts read: the final human report, JSON, the
// live line, the plot's input, and the exit code. Pure functions of the result.
#pragma once

#include <ostream>
#include <string>

#include "pierload/plot.hpp"
#include "pierload/runner.hpp"

namespace pierload {

/// Exit codes: 0 a clean run; 1 a verify mismatch or more errors than --max-errors;
/// 2 bad arguments or a set-up failure (nothing was measured).
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int failed = 1;
inline constexpr int usage = 2;
}  // namespace exit_code

int exit_code_of(const run_result& result);

/// The final report, several lines for people.
void write_report(std::ostream& out, const run_result& result);

/// Every number of the report plus the per-second series, as one JSON object.
void write_json(std::ostream& out, const run_result& result);

/// One progress line: elapsed, connections, req/s, MB/s, p99 of the interval, errors.
std::string live_line(const second_sample& sample);

plot_input make_plot_input(const run_result& result);

}  // namespace pierload
