// HdrHistogram's bucket math with fixed parameters (lowest discernible value 1, highest trackable
// 60 s in ns, 3 significant digits), so the layout is a compile-time constant and every histogram
// can be merged with every other by adding counts index by index.
#include "pierload/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>

namespace pierload {

namespace {

// 2048 sub-buckets: the smallest power of two >= 2 * 10^3 resolves 3 significant digits
// (HdrHistogram's largest_value_with_single_unit_resolution).
constexpr int sub_bucket_half_count_magnitude = 10;
constexpr std::uint64_t sub_bucket_count = std::uint64_t{1}
                                           << (sub_bucket_half_count_magnitude + 1);
constexpr std::uint64_t sub_bucket_half_count = sub_bucket_count / 2;
// unit_magnitude is 0 (lowest discernible value 1), so the mask has no low zero bits.
constexpr std::uint64_t sub_bucket_mask = sub_bucket_count - 1;

// HdrHistogram's buckets_needed_to_cover_value: bucket i tracks values below 2048 << i.
constexpr int buckets_needed(std::uint64_t highest) {
    std::uint64_t smallest_untrackable = sub_bucket_count;
    int buckets = 1;
    while (smallest_untrackable <= highest) {
        smallest_untrackable <<= 1;
        ++buckets;
    }
    return buckets;
}

constexpr int bucket_count = buckets_needed(histogram::max_value);
static_assert(bucket_count == 26, "60 s in ns needs 26 buckets of 2048 sub-buckets");

// Bucket 0 uses all 2048 sub-buckets, later ones only their upper half (the lower half would
// repeat the previous bucket's range), hence (bucket_count + 1) halves.
constexpr std::size_t counts_len =
    static_cast<std::size_t>(bucket_count + 1) * static_cast<std::size_t>(sub_bucket_half_count);

/// Bucket of `value` (<= max_value): its bit length minus the 11 bits a sub-bucket index holds.
int bucket_index_of(std::uint64_t value) {
    const int pow2ceiling = 64 - std::countl_zero(value | sub_bucket_mask);
    return pow2ceiling - (sub_bucket_half_count_magnitude + 1);
}

std::size_t counts_index_of(std::uint64_t value) {
    const int bucket = bucket_index_of(value);
    const std::uint64_t sub_bucket = value >> bucket;
    const std::uint64_t bucket_base = static_cast<std::uint64_t>(bucket + 1)
                                      << sub_bucket_half_count_magnitude;
    return static_cast<std::size_t>(bucket_base + sub_bucket - sub_bucket_half_count);
}

/// Lowest value counted at `index` (HdrHistogram's hdr_value_at_index).
std::uint64_t lowest_value_at_index(std::size_t index) {
    int bucket = static_cast<int>(index >> sub_bucket_half_count_magnitude) - 1;
    std::uint64_t sub_bucket = (index & (sub_bucket_half_count - 1)) + sub_bucket_half_count;
    if (bucket < 0) {
        sub_bucket -= sub_bucket_half_count;
        bucket = 0;
    }
    return sub_bucket << bucket;
}

/// Width of the range of values that share `value`'s counter: the step of its bucket.
std::uint64_t equivalent_range(std::uint64_t value) {
    return std::uint64_t{1} << bucket_index_of(value);
}

/// Values beyond the tracked range are counted as the largest tracked value.
std::uint64_t clamp_value(std::uint64_t value) { return std::min(value, histogram::max_value); }

/// HdrHistogram's median equivalent value: the representative each count contributes to the
/// mean and standard deviation.
double median_equivalent(std::uint64_t value) {
    return static_cast<double>(histogram::lowest_equivalent(value) +
                               (equivalent_range(value) >> 1));
}

}  // namespace

histogram::histogram() : counts_(counts_len, 0) {}

void histogram::record(std::uint64_t value, std::uint64_t count) {
    if (count == 0) {
        return;
    }
    value = clamp_value(value);
    counts_[index_of(value)] += count;
    total_count_ += count;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
}

void histogram::merge(const histogram& other) {
    // Both histograms share one layout, so merging is exact: no re-bucketing of values.
    for (std::size_t i = 0; i < counts_len; ++i) {
        counts_[i] += other.counts_[i];
    }
    total_count_ += other.total_count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
}

void histogram::reset() {
    std::fill(counts_.begin(), counts_.end(), 0);
    total_count_ = 0;
    min_ = UINT64_MAX;
    max_ = 0;
}

std::uint64_t histogram::min() const { return total_count_ == 0 ? 0 : min_; }

double histogram::mean() const {
    if (total_count_ == 0) {
        return 0.0;
    }
    double total = 0.0;
    for (std::size_t i = 0; i < counts_len; ++i) {
        if (counts_[i] != 0) {
            total += static_cast<double>(counts_[i]) * median_equivalent(value_at_index(i));
        }
    }
    return total / static_cast<double>(total_count_);
}

double histogram::stddev() const {
    if (total_count_ == 0) {
        return 0.0;
    }
    const double avg = mean();
    double deviation_total = 0.0;
    for (std::size_t i = 0; i < counts_len; ++i) {
        if (counts_[i] != 0) {
            const double dev = median_equivalent(value_at_index(i)) - avg;
            deviation_total += dev * dev * static_cast<double>(counts_[i]);
        }
    }
    return std::sqrt(deviation_total / static_cast<double>(total_count_));
}

std::uint64_t histogram::value_at_percentile(double percentile) const {
    if (total_count_ == 0) {
        return 0;
    }
    if (percentile >= 100.0) {
        return max_;
    }
    // As Java's getValueAtPercentile: one ulp off the percentile keeps round-off in p / 100 * n
    // from pushing an exact rank (p50 of 10 samples is rank 5) up to the next one. `!(p > 0)`
    // also sends NaN to rank 1.
    const double requested =
        percentile > 0.0 ? std::nextafter(percentile, -std::numeric_limits<double>::infinity())
                         : 0.0;
    const double fp_rank = std::ceil(requested / 100.0 * static_cast<double>(total_count_));
    const std::uint64_t rank = std::max<std::uint64_t>(static_cast<std::uint64_t>(fp_rank), 1);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < counts_len; ++i) {
        cumulative += counts_[i];
        if (cumulative >= rank) {
            return std::min(highest_equivalent(value_at_index(i)), max_);
        }
    }
    return max_;
}

void histogram::write_hgrm(std::ostream& out, double unit_divisor,
                           int ticks_per_half_distance) const {
    // The layout of Java's AbstractHistogram.outputPercentileDistribution (the .hgrm that
    // HistogramLogProcessor writes and the HdrHistogram plotter reads) at 3 significant digits.
    // Java's formats are printf formats, so printf renders them; checked against HdrHistogram
    // 2.2's output, the only differences are the max() cap and last-digit ties.
    char line[160];
    const auto emit = [&](int len) {
        // snprintf returns the untruncated length; the formats here never come close to it.
        if (len > 0) {
            out.write(line, std::min<std::streamsize>(len, std::streamsize{sizeof line} - 1));
        }
    };
    emit(std::snprintf(line, sizeof line, "%12s %14s %10s %14s\n\n", "Value", "Percentile",
                       "TotalCount", "1/(1-Percentile)"));

    const auto emit_row = [&](std::uint64_t value, double p, std::uint64_t count) {
        const double scaled = static_cast<double>(value) / unit_divisor;
        if (p < 1.0) {
            emit(std::snprintf(line, sizeof line, "%12.3f %2.12f %10" PRIu64 " %14.2f\n", scaled, p,
                               count, 1.0 / (1.0 - p)));
        } else {
            // The 100 % row leaves out its infinite 1/(1-Percentile).
            emit(std::snprintf(line, sizeof line, "%12.3f %2.12f %10" PRIu64 "\n", scaled, p,
                               count));
        }
    };

    const int ticks = std::max(ticks_per_half_distance, 1);
    const double total = static_cast<double>(total_count_);
    double level = 0.0;  // the percentile the next row reports, 0..100
    std::uint64_t cumulative = 0;
    std::uint64_t last_value = 0;
    for (std::size_t i = 0; i < counts_len && cumulative < total_count_; ++i) {
        if (counts_[i] == 0) {
            continue;
        }
        cumulative += counts_[i];
        // Capped at max() like value_at_percentile, so the last row equals the footer's Max.
        last_value = std::min(highest_equivalent(value_at_index(i)), max_);
        // A bucket may cross several levels: one row each, all with this bucket's value.
        while (cumulative < total_count_ && level < 100.0 &&
               100.0 * static_cast<double>(cumulative) / total >= level) {
            emit_row(last_value, level / 100.0, cumulative);
            // PercentileIterator.incrementIterationLevel: `ticks` equal steps in each half of
            // the remaining distance to 100 %, so rows thicken toward the tail.
            const auto halvings =
                static_cast<int>(std::log(100.0 / (100.0 - level)) / std::log(2.0)) + 1;
            const double next = level + 100.0 / (ticks * std::ldexp(1.0, halvings));
            // Java would loop forever once the step vanishes in round-off (it takes totals
            // above ~10^14); here only the final row remains.
            level = next > level ? next : 100.0;
        }
        if (cumulative == total_count_) {
            // The row for the level the last bucket reached, then Java's extra step to 100 %.
            if (level < 100.0) {
                emit_row(last_value, level / 100.0, cumulative);
            }
            emit_row(last_value, 1.0, cumulative);
        }
    }

    emit(std::snprintf(line, sizeof line, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n",
                       mean() / unit_divisor, stddev() / unit_divisor));
    emit(std::snprintf(line, sizeof line, "#[Max     = %12.3f, Total count    = %12" PRIu64 "]\n",
                       static_cast<double>(max_) / unit_divisor, total_count_));
    emit(std::snprintf(line, sizeof line, "#[Buckets = %12d, SubBuckets     = %12d]\n",
                       bucket_count, static_cast<int>(sub_bucket_count)));
}

std::uint64_t histogram::lowest_equivalent(std::uint64_t value) {
    value = clamp_value(value);
    const int bucket = bucket_index_of(value);
    return (value >> bucket) << bucket;
}

std::uint64_t histogram::highest_equivalent(std::uint64_t value) {
    value = clamp_value(value);
    return lowest_equivalent(value) + equivalent_range(value) - 1;
}

std::size_t histogram::index_of(std::uint64_t value) const {
    return counts_index_of(clamp_value(value));
}

std::uint64_t histogram::value_at_index(std::size_t index) const {
    return lowest_value_at_index(index);
}

}  // namespace pierload
