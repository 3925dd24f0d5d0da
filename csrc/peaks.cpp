// R-peak detection over all leads (see peaks.hpp for the method).
#include "peaks.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace fgclep {
namespace delin {
namespace {

constexpr double kPi = 3.14159265358979323846;

double clamp_cutoff(double fc, double fs) { return std::min(fc, 0.45 * fs); }

void lfilter(const Biquad& f, double* y, std::ptrdiff_t n, double z0, double z1) {
    for (std::ptrdiff_t i = 0; i < n; ++i) {
        const double xi = y[i];
        const double yi = f.b0 * xi + z0;
        z0 = f.b1 * xi - f.a1 * yi + z1;
        z1 = f.b2 * xi - f.a2 * yi;
        y[i] = yi;
    }
}

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

Biquad butter2_lowpass(double cutoff_hz, double fs) {
    const double k = std::tan(kPi * clamp_cutoff(cutoff_hz, fs) / fs);
    const double norm = 1.0 / (1.0 + std::sqrt(2.0) * k + k * k);
    Biquad f{};
    f.b0 = k * k * norm;
    f.b1 = 2.0 * f.b0;
    f.b2 = f.b0;
    f.a1 = 2.0 * (k * k - 1.0) * norm;
    f.a2 = (1.0 - std::sqrt(2.0) * k + k * k) * norm;
    return f;
}

Biquad butter2_highpass(double cutoff_hz, double fs) {
    const double k = std::tan(kPi * clamp_cutoff(cutoff_hz, fs) / fs);
    const double norm = 1.0 / (1.0 + std::sqrt(2.0) * k + k * k);
    Biquad f{};
    f.b0 = norm;
    f.b1 = -2.0 * norm;
    f.b2 = norm;
    f.a1 = 2.0 * (k * k - 1.0) * norm;
    f.a2 = (1.0 - std::sqrt(2.0) * k + k * k) * norm;
    return f;
}

std::ptrdiff_t pad_length(double fs, std::ptrdiff_t n) {
    return std::max<std::ptrdiff_t>(0, std::min<std::ptrdiff_t>(n - 1, samples(1.0, fs)));
}

void filtfilt(const Biquad& f, double* x, std::ptrdiff_t n, std::ptrdiff_t padlen) {
    if (n < 2) return;
    padlen = std::max<std::ptrdiff_t>(0, std::min(padlen, n - 1));
    const std::ptrdiff_t m = n + 2 * padlen;
    std::vector<double> ext(static_cast<std::size_t>(m));
    for (std::ptrdiff_t i = 0; i < padlen; ++i) ext[i] = 2.0 * x[0] - x[padlen - i];
    for (std::ptrdiff_t i = 0; i < n; ++i) ext[padlen + i] = x[i];
    for (std::ptrdiff_t i = 0; i < padlen; ++i) ext[padlen + n + i] = 2.0 * x[n - 1] - x[n - 2 - i];
    // Steady-state initial conditions for a unit step (scipy.signal.lfilter_zi).
    const double g = (f.b0 + f.b1 + f.b2) / (1.0 + f.a1 + f.a2);
    const double zi1 = f.b2 - f.a2 * g;
    const double zi0 = f.b1 - f.a1 * g + zi1;
    lfilter(f, ext.data(), m, zi0 * ext[0], zi1 * ext[0]);
    std::reverse(ext.begin(), ext.end());
    lfilter(f, ext.data(), m, zi0 * ext[0], zi1 * ext[0]);
    std::reverse(ext.begin(), ext.end());
    for (std::ptrdiff_t i = 0; i < n; ++i) x[i] = ext[padlen + i];
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
    filtfilt(butter2_highpass(0.5, fs), out, n, pad);
    filtfilt(butter2_lowpass(40.0, fs), out, n, pad);
}

std::vector<std::int64_t> detect_r_peaks(const double* x, int n_leads, std::ptrdiff_t n, double fs) {
    std::vector<std::int64_t> beats;
    const std::ptrdiff_t refractory = samples(0.250, fs);
    if (n < 3 * refractory || n_leads <= 0) return beats;

    // 1. Summed, per-lead normalised derivative energy of the 5-15 Hz band.
    const std::ptrdiff_t pad = pad_length(fs, n);
    const Biquad hp = butter2_highpass(5.0, fs), lp = butter2_lowpass(15.0, fs);
    std::vector<double> band(static_cast<std::size_t>(n)), energy(static_cast<std::size_t>(n));
    std::vector<double> total(static_cast<std::size_t>(n), 0.0);
    for (int l = 0; l < n_leads; ++l) {
        const double* xl = x + static_cast<std::ptrdiff_t>(l) * n;
        std::copy(xl, xl + n, band.begin());
        filtfilt(hp, band.data(), n, pad);
        filtfilt(lp, band.data(), n, pad);
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
