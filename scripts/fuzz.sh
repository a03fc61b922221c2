#!/usr/bin/env bash
# Builds the libFuzzer targets (the fuzz preset: clang, ASan + UBSan; setup.sh installs what
# it needs) and runs each for a bounded time from its seed corpus and its kept reproducers.
# Prints executions per target; exits non-zero if a target found a crash, a failed property,
# a leak or a hang, leaving the input in the work directory with the command to keep it.
#
# usage: scripts/fuzz.sh [seconds per target] [target...]    (default 60; every target)
# Targets: config units synthetic_request proxy_header pierload_options (tests/fuzz/README.md).
set -euo pipefail

seconds="${1:-60}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=(config units synthetic_request proxy_header pierload_options)
fi

"$root/scripts/setup.sh" fuzz
bin="$root/build/fuzz/tests/fuzz"
# Crash reports with file:line: llvm installs the symbolizer under a versioned path only.
# shellcheck source=scripts/platform.sh
source "$root/scripts/platform.sh"
platform_detect
export ASAN_SYMBOLIZER_PATH="/usr/lib/llvm-$platform_llvm/bin/llvm-symbolizer"
work="$root/build/fuzz/fuzz-runs"
mkdir -p "$work"

failed=()
printf '%-18s %12s %s\n' target executions result
for target in "${targets[@]}"; do
    corpus="$work/$target/corpus"  # what this run finds; the repository's seeds stay as they are
    mkdir -p "$corpus"
    inputs=("$corpus" "$root/tests/fuzz/corpus/$target")
    if [[ -d $root/tests/fuzz/regressions/$target ]]; then
        inputs+=("$root/tests/fuzz/regressions/$target")
    fi
    log="$work/$target/fuzz.log"
    # -timeout: an input taking 10 s is a hang. -rss_limit_mb=0: a runaway allocation shows up
    # as a hang or hits -malloc_limit_mb instead (the RSS limit's report, a heap profile under
    # ASan, can itself take minutes). `timeout` bounds the whole run whatever happens.
    status=0
    timeout --kill-after=10 $((seconds + 120)) "$bin/fuzz_$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=0 -malloc_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/$target/" \
        -dict="$root/tests/fuzz/$target.dict" "${inputs[@]}" >"$log" 2>&1 || status=$?
    executions=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' "$log" | tail -1)
    if ((status == 0)); then
        printf '%-18s %12s %s\n' "$target" "${executions:-?}" ok
        continue
    fi
    failed+=("$target")
    printf '%-18s %12s %s\n' "$target" "${executions:-?}" "FAILED (exit $status)"
    grep -E "ERROR|property failed|SUMMARY" "$log" | head -5 || true
    for artifact in "$work/$target"/{crash,leak,timeout,oom,slow-unit}-*; do
        [[ -e $artifact ]] || continue
        echo "  input: $artifact"
        echo "  keep it: mkdir -p tests/fuzz/regressions/$target && cp $artifact tests/fuzz/regressions/$target/<what-it-found>"
    done
    echo "  log: $log"
done

if ((${#failed[@]} > 0)); then
    echo "fuzz: failed: ${failed[*]}" >&2
    exit 1
fi
