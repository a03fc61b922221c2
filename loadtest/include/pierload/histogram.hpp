// A latency histogram with HdrHistogram's log-linear bucket math: values from 1 ns to 60 s
// (anything larger is clamped to 60 s and counted as such) kept to 3 significant decimal
// digits, in fixed memory, with O(1) record and exact merge.
//
// Bucket math (after HdrHistogram, Gil Tene): 2048 sub-buckets per bucket (the smallest power
// of two >= 2 * 10^3), bucket i covers [2^i * 1024, 2^(i+1) * 1024) with step 2^i, and bucket 0
// covers [0, 2048) with step 1. Every recorded value v lies within v / 1024 of its bucket's
// lowest equivalent value, i.e. 3 significant digits.
//
// Not thread-safe: each load-generating thread owns one and they are merged at the end.
#pragma once

#include <cstdint>
#include <ostream>
#include <vector>

namespace pierload {

class histogram {
public:
    /// Largest value tracked exactly: 60 s in nanoseconds. Larger values are clamped to it.
    static constexpr std::uint64_t max_value = 60'000'000'000;

    histogram();

    /// Counts `value` (nanoseconds) `count` times; a count of 0 records nothing.
    void record(std::uint64_t value, std::uint64_t count = 1);

    /// Adds every count of `other` to this histogram.
    void merge(const histogram& other);

    /// Forgets every value (for per-second windows).
    void reset();

    std::uint64_t total_count() const { return total_count_; }
    /// Smallest and largest recorded values (exact, not bucketed); 0 when empty.
    std::uint64_t min() const;
    std::uint64_t max() const { return max_; }
    /// Mean and standard deviation of the bucketed values (as HdrHistogram computes them).
    double mean() const;
    double stddev() const;

    /// The value at `percentile` (0..100): the highest equivalent value of the bucket holding
    /// the sample of rank ceil(percentile / 100 * total_count) (at least rank 1), capped at
    /// max(), as HdrHistogram's getValueAtPercentile. Hence exact <= result <= exact + exact /
    /// 1024 for the exact percentile of the recorded values. 0 when empty. percentile >= 100
    /// returns max(); percentile <= 0 (and NaN) means rank 1, which (unlike Java's special
    /// case for 0) is the top of min()'s bucket, so the result is never below the exact one.
    std::uint64_t value_at_percentile(double percentile) const;

    /// Writes HdrHistogram's text percentile distribution (.hgrm, as produced by
    /// HistogramLogProcessor / outputPercentileDistribution) with values divided by
    /// `unit_divisor` (1e6: milliseconds) and `ticks_per_half_distance` percentile steps (at
    /// least 1). Same layout, rows and footer as Java's, with two differences: values are capped
    /// at max() like value_at_percentile (Java prints the last bucket's upper edge there and in
    /// the footer's Max), and numbers go through printf, whose round-half-even can differ from
    /// Java's half-up in the last printed digit on exact ties. Empty: header and zero footer.
    void write_hgrm(std::ostream& out, double unit_divisor = 1e6,
                    int ticks_per_half_distance = 5) const;

    /// Lowest and highest values that fall in the same bucket as `value` (for tests); values
    /// above max_value are clamped first, as record() does.
    static std::uint64_t lowest_equivalent(std::uint64_t value);
    static std::uint64_t highest_equivalent(std::uint64_t value);

private:
    std::size_t index_of(std::uint64_t value) const;
    std::uint64_t value_at_index(std::size_t index) const;

    std::vector<std::uint64_t> counts_;
    std::uint64_t total_count_ = 0;
    std::uint64_t min_ = UINT64_MAX;
    std::uint64_t max_ = 0;
};

}  // namespace pierload
