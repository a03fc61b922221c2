// Unit tests for pierload::histogram: bucket math, percentiles against exact order statistics,
// merge, reset, mean/stddev and the .hgrm text format. Deterministic: fixed seeds, no clocks.
#include "pierload/histogram.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using pierload::histogram;

constexpr std::uint64_t us = 1'000;
constexpr std::uint64_t ms = 1'000'000;
constexpr std::uint64_t sec = 1'000'000'000;

/// A percentile both as the double the API takes and as an exact integer in parts per million,
/// so the reference rank ceil(p / 100 * n) is computed without floating-point round-off.
struct level {
    double percent;
    std::uint64_t ppm;
};

constexpr level levels[] = {{50.0, 500'000}, {90.0, 900'000},  {99.0, 990'000},
                            {99.9, 999'000}, {99.99, 999'900}, {100.0, 1'000'000}};

/// The exact percentile of sorted samples: sorted[ceil(p/100 * n) - 1], rank at least 1.
std::uint64_t exact_percentile(const std::vector<std::uint64_t>& sorted, std::uint64_t ppm) {
    const std::uint64_t n = sorted.size();
    const std::uint64_t rank = std::max<std::uint64_t>((ppm * n + 999'999) / 1'000'000, 1);
    return sorted[static_cast<std::size_t>(rank - 1)];
}

histogram record_all(const std::vector<std::uint64_t>& samples) {
    histogram h;
    for (const std::uint64_t v : samples) {
        h.record(v);
    }
    return h;
}

/// Checks every level against the exact percentile. The bound: the histogram walks counts in
/// value order, so the sample of the requested rank lies in the bucket it reports; it returns
/// that bucket's highest equivalent value (capped at max(), itself >= the sample). Hence
/// exact <= reported <= highest_equivalent(exact), and a bucket's width is at most 1/1024 of
/// any value in it (bucket i >= 1 holds values >= 1024 * 2^i, width 2^i; bucket 0 has width 1),
/// so reported - exact <= width - 1 < exact / 1024: one-sided, no "+1" needed.
void check_percentiles(std::vector<std::uint64_t> samples) {
    const histogram h = record_all(samples);
    std::sort(samples.begin(), samples.end());
    REQUIRE(h.total_count() == samples.size());
    CHECK(h.min() == samples.front());
    CHECK(h.max() == samples.back());
    for (const level& l : levels) {
        const std::uint64_t exact = exact_percentile(samples, l.ppm);
        const std::uint64_t got = h.value_at_percentile(l.percent);
        INFO("p", l.percent, " exact=", exact, " histogram=", got);
        CHECK(got >= exact);
        CHECK(got - exact <= exact / 1024);
        CHECK(got <= histogram::highest_equivalent(exact));
    }
    CHECK(h.value_at_percentile(100.0) == samples.back());
}

std::vector<std::uint64_t> uniform_samples(std::uint64_t seed, std::size_t n) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::uint64_t> dist(1, 10 * sec);
    std::vector<std::uint64_t> out(n);
    for (auto& v : out) {
        v = dist(rng);
    }
    return out;
}

/// Log-uniform between 1 us and 10 s: every bucket from 2^0 to 2^23 gets samples.
std::vector<std::uint64_t> log_uniform_samples(std::uint64_t seed, std::size_t n) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> dist(std::log(1e3), std::log(1e10));
    std::vector<std::uint64_t> out(n);
    for (auto& v : out) {
        v = static_cast<std::uint64_t>(std::llround(std::exp(dist(rng))));
    }
    return out;
}

/// Exponential with a 1 ms mean: a long thin tail, like real latencies.
std::vector<std::uint64_t> exponential_samples(std::uint64_t seed, std::size_t n) {
    std::mt19937_64 rng(seed);
    std::exponential_distribution<double> dist(1.0 / static_cast<double>(ms));
    std::vector<std::uint64_t> out(n);
    for (auto& v : out) {
        v = static_cast<std::uint64_t>(std::llround(dist(rng)));
    }
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

constexpr const char* hgrm_header = "       Value     Percentile TotalCount 1/(1-Percentile)";

}  // namespace

TEST_CASE("histogram: equivalent values around bucket boundaries") {
    // Proves the bucket layout: exact below 2048, step 2^i in bucket i, clamping above 60 s.
    struct row {
        std::uint64_t value, lowest, highest;
    };
    const row rows[] = {
        {0, 0, 0},
        {1, 1, 1},
        {1024, 1024, 1024},
        {2047, 2047, 2047},
        {2048, 2048, 2049},
        {2049, 2048, 2049},
        {4095, 4094, 4095},
        {4096, 4096, 4099},
        {1'000'000, 999'936, 1'000'447},
        {60 * sec, 59'995'324'416, 60'028'878'847},
        {60 * sec + 1, 59'995'324'416, 60'028'878'847},
        {1'000'000 * sec, 59'995'324'416, 60'028'878'847},
        {UINT64_MAX, 59'995'324'416, 60'028'878'847},
    };
    for (const row& r : rows) {
        INFO("value=", r.value);
        CHECK(histogram::lowest_equivalent(r.value) == r.lowest);
        CHECK(histogram::highest_equivalent(r.value) == r.highest);
    }
    // Every bucket start: a new bucket begins exactly there, one step wider than the last.
    for (int i = 1; i <= 25; ++i) {
        const std::uint64_t start = std::uint64_t{1024} << i;
        INFO("bucket=", i);
        CHECK(histogram::lowest_equivalent(start) == start);
        CHECK(histogram::highest_equivalent(start) == start + (std::uint64_t{1} << i) - 1);
        CHECK(histogram::highest_equivalent(start - 1) == start - 1);
        CHECK(histogram::lowest_equivalent(start - 1) ==
              start - (std::uint64_t{1} << std::max(i - 1, 0)));
    }
}

TEST_CASE("histogram: every value is kept to 3 significant digits") {
    // Proves lowest <= v <= highest, width <= v / 1024 and contiguous buckets over the range.
    const auto check = [](std::uint64_t v) {
        const std::uint64_t lo = histogram::lowest_equivalent(v);
        const std::uint64_t hi = histogram::highest_equivalent(v);
        REQUIRE(lo <= v);
        REQUIRE(v <= hi);
        REQUIRE(hi - lo <= v / 1024);
        REQUIRE(histogram::lowest_equivalent(lo) == lo);
        REQUIRE(histogram::highest_equivalent(hi) == hi);
        if (hi < histogram::max_value) {
            REQUIRE(histogram::lowest_equivalent(hi + 1) == hi + 1);
        }
    };
    for (std::uint64_t v = 0; v < (std::uint64_t{1} << 16); ++v) {
        check(v);
    }
    std::mt19937_64 rng(20240601);
    std::uniform_real_distribution<double> exponent(0.0, std::log2(6e10));
    for (int i = 0; i < 200'000; ++i) {
        const auto v = static_cast<std::uint64_t>(std::exp2(exponent(rng)));
        check(std::min(v, histogram::max_value));
    }
    check(histogram::max_value);
}

TEST_CASE("histogram: values above 60 s are clamped and counted") {
    // Proves out-of-range values neither overflow the counts nor get dropped.
    histogram h;
    h.record(UINT64_MAX);
    h.record(histogram::max_value + 1, 2);
    h.record(5);
    CHECK(h.total_count() == 4);
    CHECK(h.max() == histogram::max_value);
    CHECK(h.min() == 5);
    CHECK(h.value_at_percentile(50.0) == histogram::max_value);
    CHECK(h.value_at_percentile(25.0) == 5);
}

TEST_CASE("histogram: an empty histogram reports zeros") {
    // Proves every query is safe and zero before anything is recorded.
    const histogram h;
    CHECK(h.total_count() == 0);
    CHECK(h.min() == 0);
    CHECK(h.max() == 0);
    CHECK(h.mean() == 0.0);
    CHECK(h.stddev() == 0.0);
    for (const level& l : levels) {
        CHECK(h.value_at_percentile(l.percent) == 0);
    }
    CHECK(h.value_at_percentile(0.0) == 0);
}

TEST_CASE("histogram: percentile rank is ceil(p / 100 * n)") {
    // Proves the rank rule, even where p / 100 * n is a whole number that round-off could bump.
    constexpr std::uint64_t sizes[] = {1, 2, 3, 7, 10, 100, 1000, 2000};
    for (const std::uint64_t n : sizes) {
        histogram h;
        for (std::uint64_t v = 1; v <= n; ++v) {
            h.record(v);
        }
        for (std::uint64_t k = 0; k <= 1000; ++k) {
            const double p = static_cast<double>(k) / 10.0;
            const std::uint64_t rank = std::max<std::uint64_t>((k * n + 999) / 1000, 1);
            INFO("n=", n, " p=", p);
            REQUIRE(h.value_at_percentile(p) == rank);
        }
        CHECK(h.value_at_percentile(-1.0) == 1);
        CHECK(h.value_at_percentile(std::nan("")) == 1);
        CHECK(h.value_at_percentile(250.0) == n);
    }
}

TEST_CASE("histogram: percentiles of random distributions match exact ones") {
    // Proves exact <= value_at_percentile <= exact + exact / 1024 on realistic shapes.
    constexpr std::size_t n = 100'000;
    SUBCASE("uniform 1 ns .. 10 s") { check_percentiles(uniform_samples(1, n)); }
    SUBCASE("log-uniform 1 us .. 10 s") { check_percentiles(log_uniform_samples(2, n)); }
    SUBCASE("exponential, mean 1 ms") { check_percentiles(exponential_samples(3, n)); }
}

TEST_CASE("histogram: percentiles of adversarial distributions match exact ones") {
    // Proves the bound and exact max on degenerate shapes: one value, spikes, a lone outlier.
    SUBCASE("all equal") {
        const std::vector<std::uint64_t> samples(1000, 123'456'789);
        check_percentiles(samples);
        const histogram h = record_all(samples);
        for (const level& l : levels) {
            // Capped at max(): the bucket's upper edge would overstate every percentile.
            CHECK(h.value_at_percentile(l.percent) == 123'456'789);
        }
    }
    SUBCASE("two spikes") {
        std::vector<std::uint64_t> samples(500, 1000);
        samples.insert(samples.end(), 500, sec);
        check_percentiles(samples);
        const histogram h = record_all(samples);
        CHECK(h.value_at_percentile(50.0) == 1000);
        CHECK(h.value_at_percentile(50.1) == sec);
    }
    SUBCASE("one huge outlier") {
        std::vector<std::uint64_t> samples(9999, 5 * us);
        samples.push_back(59 * sec);
        check_percentiles(samples);
        const histogram h = record_all(samples);
        CHECK(h.value_at_percentile(99.99) < 6 * us);
        CHECK(h.value_at_percentile(99.995) == 59 * sec);
        CHECK(h.max() == 59 * sec);
    }
    SUBCASE("bimodal: 99.99 % at 10 us, 0.01 % at 5 s") {
        std::vector<std::uint64_t> samples(999'900, 10 * us);
        samples.insert(samples.end(), 100, 5 * sec);
        check_percentiles(samples);
        const histogram h = record_all(samples);
        // Rank ceil(0.9999 * n) is the last fast sample, so p99.99 sits exactly on the edge;
        // anything past it, and one more slow sample, shows the outlier.
        CHECK(h.value_at_percentile(99.99) == histogram::highest_equivalent(10 * us));
        CHECK(h.value_at_percentile(99.991) == 5 * sec);
        CHECK(h.value_at_percentile(100.0) == 5 * sec);
        CHECK(h.max() == 5 * sec);
        histogram tipped = h;
        tipped.record(5 * sec);
        CHECK(tipped.value_at_percentile(99.99) == 5 * sec);
    }
}

TEST_CASE("histogram: merge equals recording everything into one") {
    // Proves merge is exact: counts, percentiles, min/max and mean/stddev are unchanged.
    const std::vector<std::uint64_t> a_samples = log_uniform_samples(11, 20'000);
    std::vector<std::uint64_t> b_samples = exponential_samples(12, 30'000);
    b_samples.push_back(0);
    b_samples.push_back(42 * sec);

    histogram a = record_all(a_samples);
    const histogram b = record_all(b_samples);
    histogram all = record_all(a_samples);
    for (const std::uint64_t v : b_samples) {
        all.record(v);
    }
    a.merge(b);

    CHECK(a.total_count() == all.total_count());
    CHECK(a.min() == 0);
    CHECK(a.max() == 42 * sec);
    CHECK(a.min() == all.min());
    CHECK(a.max() == all.max());
    CHECK(a.mean() == all.mean());
    CHECK(a.stddev() == all.stddev());
    for (int k = 0; k <= 200; ++k) {
        const double p = k / 2.0;
        INFO("p=", p);
        CHECK(a.value_at_percentile(p) == all.value_at_percentile(p));
    }
    std::ostringstream merged_text, all_text;
    a.write_hgrm(merged_text, 1e6, 20);
    all.write_hgrm(all_text, 1e6, 20);
    CHECK(merged_text.str() == all_text.str());

    SUBCASE("merging into and from empty histograms") {
        histogram empty;
        histogram copy = b;
        copy.merge(histogram{});
        CHECK(copy.total_count() == b.total_count());
        CHECK(copy.min() == b.min());
        empty.merge(b);
        CHECK(empty.min() == b.min());
        CHECK(empty.max() == b.max());
        CHECK(empty.value_at_percentile(99.0) == b.value_at_percentile(99.0));
    }
}

TEST_CASE("histogram: reset empties it") {
    // Proves reset forgets counts and min/max, and the histogram is usable again afterwards.
    histogram h = record_all(uniform_samples(21, 1000));
    h.reset();
    CHECK(h.total_count() == 0);
    CHECK(h.min() == 0);
    CHECK(h.max() == 0);
    CHECK(h.mean() == 0.0);
    CHECK(h.value_at_percentile(50.0) == 0);
    h.record(7 * ms);
    CHECK(h.total_count() == 1);
    CHECK(h.min() == 7 * ms);
    CHECK(h.max() == 7 * ms);
    CHECK(h.value_at_percentile(1.0) == 7 * ms);
}

TEST_CASE("histogram: mean and stddev are within 0.1 % of exact") {
    // Proves the bucketed moments: each value moves at most half a bucket (1/2048 of itself).
    const auto check = [](const std::vector<std::uint64_t>& samples) {
        const histogram h = record_all(samples);
        long double sum = 0;
        for (const std::uint64_t v : samples) {
            sum += static_cast<long double>(v);
        }
        const long double exact_mean = sum / static_cast<long double>(samples.size());
        long double squares = 0;
        for (const std::uint64_t v : samples) {
            const long double d = static_cast<long double>(v) - exact_mean;
            squares += d * d;
        }
        const auto mean = static_cast<double>(exact_mean);
        const auto sd =
            static_cast<double>(std::sqrt(squares / static_cast<long double>(samples.size())));
        INFO("mean exact=", mean, " histogram=", h.mean());
        INFO("stddev exact=", sd, " histogram=", h.stddev());
        CHECK(std::abs(h.mean() - mean) <= 1e-3 * mean);
        CHECK(std::abs(h.stddev() - sd) <= 1e-3 * sd);
    };
    SUBCASE("each count weighs its bucket's median, as HdrHistogram") {
        histogram h;
        h.record(ms);    // bucket [999'936, 1'000'448): median 1'000'192
        h.record(3000);  // bucket [3000, 3002): median 3001
        CHECK(h.mean() == 501'596.5);
        CHECK(h.stddev() == 498'595.5);
    }
    SUBCASE("uniform") { check(uniform_samples(31, 50'000)); }
    SUBCASE("log-uniform") { check(log_uniform_samples(32, 50'000)); }
    SUBCASE("exponential") { check(exponential_samples(33, 50'000)); }
}

TEST_CASE("histogram: write_hgrm of an empty histogram") {
    // Proves the empty output is the header and a zero footer, with no percentile rows.
    std::ostringstream out;
    histogram{}.write_hgrm(out);
    CHECK(out.str() == std::string(hgrm_header) +
                           "\n\n"
                           "#[Mean    =        0.000, StdDeviation   =        0.000]\n"
                           "#[Max     =        0.000, Total count    =            0]\n"
                           "#[Buckets =           26, SubBuckets     =         2048]\n");
}

TEST_CASE("histogram: write_hgrm of a single value, byte for byte") {
    // Proves the row formats: a 0 % row with 1/(1-p), then the 100 % row without it.
    histogram h;
    h.record(ms);
    std::ostringstream out;
    h.write_hgrm(out);
    CHECK(out.str() == std::string(hgrm_header) +
                           "\n\n"
                           "       1.000 0.000000000000          1           1.00\n"
                           "       1.000 1.000000000000          1\n"
                           "#[Mean    =        1.000, StdDeviation   =        0.000]\n"
                           "#[Max     =        1.000, Total count    =            1]\n"
                           "#[Buckets =           26, SubBuckets     =         2048]\n");
}

TEST_CASE("histogram: write_hgrm rows parse back monotonic, ending at 100 %") {
    // Proves the percentile-iterator rows (levels, counts, values) and the footer of 1..100 ms.
    histogram h;
    for (std::uint64_t i = 1; i <= 100; ++i) {
        h.record(i * ms);
    }
    std::ostringstream out;
    h.write_hgrm(out);
    const std::vector<std::string> lines = lines_of(out.str());
    REQUIRE(lines.size() > 8);
    CHECK(lines[0] == hgrm_header);
    CHECK(lines[1].empty());

    struct row {
        double value, percentile;
        std::uint64_t count;
        double inverse;
        bool has_inverse;
    };
    std::vector<row> rows;
    std::size_t i = 2;
    for (; i < lines.size() && lines[i].rfind("#[", 0) != 0; ++i) {
        std::istringstream fields(lines[i]);
        row r{};
        REQUIRE(static_cast<bool>(fields >> r.value >> r.percentile >> r.count));
        r.has_inverse = static_cast<bool>(fields >> r.inverse);
        rows.push_back(r);
    }
    REQUIRE(rows.size() >= 10);
    for (std::size_t k = 1; k < rows.size(); ++k) {
        CHECK(rows[k].value >= rows[k - 1].value);
        CHECK(rows[k].percentile > rows[k - 1].percentile);
        CHECK(rows[k].count >= rows[k - 1].count);
    }
    for (std::size_t k = 0; k + 1 < rows.size(); ++k) {
        CHECK(rows[k].has_inverse);
        CHECK(rows[k].inverse == doctest::Approx(1.0 / (1.0 - rows[k].percentile)).epsilon(1e-2));
    }
    // Ticks of 5 per half distance: steps of 10 % up to 50 %, then 5 % up to 75 %.
    const double expected_levels[] = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75};
    for (std::size_t k = 0; k < std::size(expected_levels); ++k) {
        INFO("row=", k);
        CHECK(rows[k].percentile == doctest::Approx(expected_levels[k]));
        const auto count = static_cast<std::uint64_t>(std::llround(expected_levels[k] * 100));
        CHECK(rows[k].count == std::max<std::uint64_t>(count, 1));
        CHECK(
            rows[k].value ==
            doctest::Approx(static_cast<double>(std::max<std::uint64_t>(count, 1))).epsilon(1e-3));
    }
    const row& last = rows.back();
    CHECK_FALSE(last.has_inverse);
    CHECK(last.percentile == 1.0);
    CHECK(last.count == h.total_count());
    CHECK(last.value == 100.0);
    CHECK(lines[i - 1].find(" 1.000000000000 ") != std::string::npos);

    REQUIRE(lines.size() == i + 3);
    CHECK(lines[i].rfind("#[Mean    = ", 0) == 0);
    double mean = 0, sd = 0;
    REQUIRE(std::sscanf(lines[i].c_str(), "#[Mean    = %lf, StdDeviation   = %lf]", &mean, &sd) ==
            2);
    CHECK(mean == doctest::Approx(50.5).epsilon(1e-3));
    CHECK(sd == doctest::Approx(28.866).epsilon(1e-3));
    CHECK(lines[i + 1] == "#[Max     =      100.000, Total count    =          100]");
    CHECK(lines[i + 2] == "#[Buckets =           26, SubBuckets     =         2048]");

    SUBCASE("unit divisor scales values, not counts") {
        std::ostringstream micros;
        h.write_hgrm(micros, 1e3);
        const std::vector<std::string> ul = lines_of(micros.str());
        // Rows show the bucket's upper edge: 1 ms is counted in [999.936 us, 1000.447 us].
        CHECK(ul[2] == "    1000.447 0.000000000000          1           1.00");
        CHECK(ul.back() == lines.back());
        CHECK(ul[ul.size() - 2] == "#[Max     =   100000.000, Total count    =          100]");
    }
}
