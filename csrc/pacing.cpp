// Pacing-stimulus detection on raw leads (see pacing.hpp).
#include "pacing.hpp"

#include <algorithm>
#include <cmath>

namespace fgclep {
namespace delin {
namespace {

using idx = std::ptrdiff_t;

constexpr double kPaceRatio = 2.5;    // one-sample step / steepest 8 ms slope of the window
constexpr double kPaceQuiet = 0.10;   // steepest 8 ms slope before the jump / window's steepest
constexpr double kBefore = 0.200;     // s before R searched for the stimulus
constexpr double kAfter = 0.050;      // s after R (R may be placed on the stimulus itself)
constexpr double kQuietFrom = 0.030;  // quiet stretch: 30 ms ...
constexpr double kQuietTo = 0.004;    // ... to 4 ms before the jump
constexpr double kFirstJump = 0.006;  // s: the jumps of one (biphasic) stimulus

idx secs(double s, double fs) { return static_cast<idx>(std::lround(s * fs)); }

// Sum over leads of |x[i + b] - x[i - a]| / (a + b); non-finite pairs are skipped.
void summed_slope(const double* raw, int n_leads, idx n, idx a, idx b, std::vector<double>& out) {
    out.assign(static_cast<std::size_t>(n), 0.0);
    for (int l = 0; l < n_leads; ++l) {
        const double* x = raw + static_cast<idx>(l) * n;
        for (idx i = a; i + b < n; ++i) {
            const double d = x[i + b] - x[i - a];
            if (std::isfinite(d)) out[static_cast<std::size_t>(i)] += std::fabs(d);
        }
    }
    const double w = static_cast<double>(a + b);
    for (double& v : out) v /= w;
}

}  // namespace

std::vector<std::int64_t> detect_pacing_spikes(const double* raw, int n_leads, idx n, double fs,
                                               const std::vector<std::int64_t>& r_peaks) {
    std::vector<std::int64_t> spikes(r_peaks.size(), -1);
    if (fs < kPacingMinFs || n_leads < 1 || n < 8 || r_peaks.empty()) return spikes;
    const idx h1 = std::max<idx>(1, secs(0.001, fs));       // one sample up to 1500 Hz
    const idx h8 = std::max<idx>(h1 + 1, secs(0.004, fs)); // 8 ms slope: +-4 ms
    std::vector<double> step, slope;
    summed_slope(raw, n_leads, n, 0, h1, step);
    summed_slope(raw, n_leads, n, h8, h8, slope);
    for (std::size_t b = 0; b < r_peaks.size(); ++b) {
        const idx r = static_cast<idx>(r_peaks[b]);
        const idx lo = std::max<idx>(h8 + secs(kQuietFrom, fs), r - secs(kBefore, fs));
        const idx hi = std::min<idx>(n - 1 - h8, r + secs(kAfter, fs));
        if (hi - lo < 4) continue;
        idx at = lo;
        double steepest = 0.0;
        for (idx i = lo; i <= hi; ++i) {
            if (step[i] > step[at]) at = i;
            steepest = std::max(steepest, slope[i]);
        }
        if (!(steepest > 0.0) || step[at] < kPaceRatio * steepest) continue;
        // A stimulus is often biphasic (the jump and the output capacitor's recharge a sample or
        // two later, or two stimuli of biventricular pacing): take its first jump of at least
        // half the largest within kFirstJump before it.
        const idx largest = at;
        for (idx i = largest - 1; i >= std::max(lo, largest - secs(kFirstJump, fs)); --i)
            if (step[i] >= 0.5 * step[largest]) at = i;
        double before = 0.0;
        for (idx i = at - secs(kQuietFrom, fs); i <= at - std::max<idx>(1, secs(kQuietTo, fs)); ++i)
            before = std::max(before, slope[i]);
        if (before < kPaceQuiet * steepest) spikes[b] = at + h1;  // the first sample after the jump
    }
    return spikes;
}

}  // namespace delin
}  // namespace fgclep
