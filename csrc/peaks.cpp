// R-peak detection over all leads (see peaks.hpp for the method).
#include "peaks.hpp"

#include "filters.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace fgclep {
namespace delin {
namespace {

double clamp_cutoff(double fc, double fs) { return std::min(fc, 0.45 * fs); }

// Value below which a share q of v lies (nearest rank on a copy).
double quantile(std::vector<double> v, double q) {
    if (v.empty()) return 0.0;
    const auto k = static_cast<std::ptrdiff_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + k, v.end());
    return v[static_cast<std::size_t>(k)];
}

// Centred moving average of width w (odd) with edge truncation.
void moving_average(const double* x, std::ptrdiff_t n, std::ptrdiff_t w, double* out) {
    const std::ptrdiff_t h = w / 2;
    std::vector<double> cs(static_cast<std::size_t>(n) + 1, 0.0);
    for (std::ptrdiff_t i = 0; i < n; ++i) cs[i + 1] = cs[i] + x[i];
    for (std::ptrdiff_t i = 0; i < n; ++i) {
        const std::ptrdiff_t lo = std::max<std::ptrdiff_t>(0, i - h);
        const std::ptrdiff_t hi = std::min<std::ptrdiff_t>(n, i + h + 1);
        out[i] = (cs[hi] - cs[lo]) / static_cast<double>(hi - lo);
    }
}

std::ptrdiff_t samples(double seconds, double fs) {
    return std::max<std::ptrdiff_t>(1, static_cast<std::ptrdiff_t>(std::lround(seconds * fs)));
}

}  // namespace

void lowpass2(double* x, std::ptrdiff_t n, double cutoff_hz, double fs, std::ptrdiff_t padlen) {
    if (n < 2) return;
    const SosMatrix sos = butter_sos(2, 0.0, clamp_cutoff(cutoff_hz, fs), fs, BandType::lowpass);
    sosfiltfilt_rows(x, x, 1, n, sos, padlen);
}

void highpass2(double* x, std::ptrdiff_t n, double cutoff_hz, double fs, std::ptrdiff_t padlen) {
    if (n < 2) return;
    const SosMatrix sos = butter_sos(2, clamp_cutoff(cutoff_hz, fs), 0.0, fs, BandType::highpass);
    sosfiltfilt_rows(x, x, 1, n, sos, padlen);
}

std::ptrdiff_t pad_length(double fs, std::ptrdiff_t n) {
    return std::max<std::ptrdiff_t>(0, std::min<std::ptrdiff_t>(n - 1, samples(1.0, fs)));
}

void condition_lead(const double* in, std::ptrdiff_t n, double fs, double* out) {
    if (n <= 0) return;
    std::ptrdiff_t prev = -1;
    for (std::ptrdiff_t i = 0; i < n; ++i) {
        if (!std::isfinite(in[i])) continue;
        out[i] = in[i];
        if (prev < 0) {
            for (std::ptrdiff_t j = 0; j < i; ++j) out[j] = in[i];
        } else if (i - prev > 1) {
            const double step = (in[i] - out[prev]) / static_cast<double>(i - prev);
            for (std::ptrdiff_t j = prev + 1; j < i; ++j) out[j] = out[prev] + step * static_cast<double>(j - prev);
        }
        prev = i;
    }
    if (prev < 0) {
        std::fill(out, out + n, 0.0);
        return;
    }
    for (std::ptrdiff_t j = prev + 1; j < n; ++j) out[j] = out[prev];
    const std::ptrdiff_t pad = pad_length(fs, n);
    highpass2(out, n, 0.5, fs, pad);
    lowpass2(out, n, 40.0, fs, pad);
}

std::vector<std::int64_t> detect_r_peaks(const double* x, int n_leads, std::ptrdiff_t n, double fs) {
    std::vector<std::int64_t> beats;
    const std::ptrdiff_t refractory = samples(0.250, fs);
    if (n < 3 * refractory || n_leads <= 0) return beats;

    // 1. Summed, per-lead normalised derivative energy of the 5-15 Hz band.
    const std::ptrdiff_t pad = pad_length(fs, n);
    std::vector<double> band(static_cast<std::size_t>(n)), energy(static_cast<std::size_t>(n));
    std::vector<double> total(static_cast<std::size_t>(n), 0.0);
    for (int l = 0; l < n_leads; ++l) {
        const double* xl = x + static_cast<std::ptrdiff_t>(l) * n;
        std::copy(xl, xl + n, band.begin());
        highpass2(band.data(), n, 5.0, fs, pad);
        lowpass2(band.data(), n, 15.0, fs, pad);
        energy[0] = energy[n - 1] = 0.0;
        for (std::ptrdiff_t i = 1; i + 1 < n; ++i) {
            const double d = band[i + 1] - band[i - 1];
            energy[i] = d * d;
        }
        const double scale = quantile(energy, 0.98);
        if (!(scale > 1e-18)) continue;  // flat lead: no information
        for (std::ptrdiff_t i = 0; i < n; ++i) total[i] += std::min(energy[i] / scale, 50.0);
    }
    std::vector<double> mwi(static_cast<std::size_t>(n));
    moving_average(total.data(), n, samples(0.100, fs) | 1, mwi.data());

    // 2. Candidates: maxima of the integrated energy over +-100 ms.
    const std::ptrdiff_t half = refractory / 2;
    std::vector<std::ptrdiff_t> cand;
    for (std::ptrdiff_t i = 1; i + 1 < n; ++i) {
        if (!(mwi[i] > 0.0) || mwi[i] < mwi[i - 1] || mwi[i] <= mwi[i + 1]) continue;
        const std::ptrdiff_t lo = std::max<std::ptrdiff_t>(0, i - half);
        const std::ptrdiff_t hi = std::min<std::ptrdiff_t>(n - 1, i + half);
        bool is_max = true;
        for (std::ptrdiff_t j = lo; j <= hi && is_max; ++j) is_max = !(mwi[j] > mwi[i]);
        if (is_max) cand.push_back(i);
    }
    if (cand.empty()) return beats;

    // Steepest summed squared slope within +-50 ms of an integrated-energy peak.
    const std::ptrdiff_t sw = samples(0.050, fs);
    auto slope = [&](std::ptrdiff_t i) {
        double m = 0.0;
        for (std::ptrdiff_t j = std::max<std::ptrdiff_t>(0, i - sw); j <= std::min(n - 1, i + sw); ++j) m = std::max(m, total[j]);
        return m;
    };

    // 3. Pan-Tompkins classification. Initial signal level: the median of the candidates that
    // reach 30 % of the upper-quartile candidate (robust to a few large ectopic beats), at least
    // 10 % of the largest (so a lone beat in a quiet record stands out); noise level: half the
    // median of the remaining candidates.
    std::vector<double> amps;
    for (auto c : cand) amps.push_back(mwi[c]);
    const double top = *std::max_element(amps.begin(), amps.end());
    const double upper = quantile(amps, 0.75);
    std::vector<double> big, small;
    for (double a : amps) (a >= 0.3 * upper ? big : small).push_back(a);
    double spk = std::max(quantile(big, 0.5), 0.1 * top);
    double npk = small.empty() ? 0.0 : 0.5 * quantile(small, 0.5);
    double rr_avg = 0.0;  // seconds in samples; 0 until two beats
    std::vector<std::ptrdiff_t> det;
    std::size_t last_cand = 0;  // index in cand of the last accepted beat
    auto accept = [&](std::size_t k, double weight) {
        const std::ptrdiff_t i = cand[k];
        if (!det.empty()) {
            const double rr = static_cast<double>(i - det.back());
            rr_avg = rr_avg > 0.0 ? 0.875 * rr_avg + 0.125 * rr : rr;
        }
        det.push_back(i);
        spk = weight * mwi[i] + (1.0 - weight) * spk;
        last_cand = k;
    };
    for (std::size_t k = 0; k < cand.size(); ++k) {
        const std::ptrdiff_t i = cand[k];
        const double thr = npk + 0.25 * (spk - npk);
        // Search-back: a long gap since the last beat re-examines the candidates in it.
        if (!det.empty() && rr_avg > 0.0 && static_cast<double>(i - det.back()) > 1.66 * rr_avg) {
            std::size_t best = cand.size();
            for (std::size_t j = last_cand + 1; j < k; ++j) {
                if (cand[j] - det.back() < refractory || i - cand[j] < refractory) continue;
                if (best == cand.size() || mwi[cand[j]] > mwi[cand[best]]) best = j;
            }
            if (best != cand.size() && mwi[cand[best]] > 0.5 * thr) accept(best, 0.25);
        }
        const double thr_now = npk + 0.25 * (spk - npk);
        if (mwi[i] > thr_now && (det.empty() || i - det.back() >= refractory)) {
            // T-wave rejection (Pan-Tompkins): within 360 ms of the last beat, a candidate whose
            // steepest slope is under half the beat's (a quarter in squared-slope energy).
            if (!det.empty() && i - det.back() < samples(0.360, fs) && slope(i) < 0.25 * slope(det.back())) {
                npk = 0.125 * mwi[i] + 0.875 * npk;
                continue;
            }
            accept(k, 0.125);
        } else {
            npk = 0.125 * mwi[i] + 0.875 * npk;
        }
    }
    // Search-back at the end of the record.
    if (!det.empty() && rr_avg > 0.0 && static_cast<double>(n - 1 - det.back()) > 1.66 * rr_avg) {
        const double thr = npk + 0.25 * (spk - npk);
        std::size_t best = cand.size();
        for (std::size_t j = last_cand + 1; j < cand.size(); ++j) {
            if (cand[j] - det.back() < refractory) continue;
            if (best == cand.size() || mwi[cand[j]] > mwi[cand[best]]) best = j;
        }
        if (best != cand.size() && mwi[cand[best]] > 0.5 * thr) accept(best, 0.25);
    }

    // 4. Refine each detection to the dominant-polarity extremum of the most deflected lead.
    const std::ptrdiff_t w = samples(0.060, fs);
    for (auto i : det) {
        const std::ptrdiff_t lo = std::max<std::ptrdiff_t>(0, i - w);
        const std::ptrdiff_t hi = std::min<std::ptrdiff_t>(n - 1, i + w);
        double best = -1.0;
        std::ptrdiff_t at = i;
        for (int l = 0; l < n_leads; ++l) {
            const double* xl = x + static_cast<std::ptrdiff_t>(l) * n;
            // Local baseline: the window's edge mean, so a lead's offset does not count.
            const double base = 0.5 * (xl[lo] + xl[hi]);
            for (std::ptrdiff_t j = lo; j <= hi; ++j) {
                const double a = std::fabs(xl[j] - base);
                if (a > best) {
                    best = a;
                    at = j;
                }
            }
        }
        if (!beats.empty() && at - beats.back() < refractory) continue;
        beats.push_back(static_cast<std::int64_t>(at));
    }
    return beats;
}

}  // namespace delin
}  // namespace fgclep
