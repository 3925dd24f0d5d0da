// Waveform measurements from fiducials (definitions in docs/measurements.md).
#include "measure.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <vector>

#include "pacing.hpp"
#include "parallel.hpp"
#include "peaks.hpp"

namespace fgclep {
namespace delin {
namespace {

using idx = std::ptrdiff_t;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kPi = 3.14159265358979323846;

// Same convention as numpy.median: mean of the two middle values for an even count.
double median(std::vector<double> v) {
    if (v.empty()) return kNaN;
    std::sort(v.begin(), v.end());
    const std::size_t k = v.size();
    return k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
}

idx secs(double s, double fs) { return static_cast<idx>(std::lround(s * fs)); }

enum Rec {
    HEART_RATE, RR_MEAN, RR_STD, RR_IRREG, PR, P_DUR, QRS_DUR, QT, QTC_B, QTC_F, P_AXIS, QRS_AXIS,
    T_AXIS, SOKOLOW, CORNELL, LOW_VOLT, P_FRACTION, N_BEATS, PACED_FRACTION
};
static_assert(PACED_FRACTION == kPacedFraction && PACED_FRACTION + 1 == kRecordMeasures, "record measures");
enum PerLead { P_AMP, Q_AMP, R_AMP, S_AMP, T_AMP, ST, Q_DUR, Q_DEPTH };
enum Std { I_, II_, III_, AVR_, AVL_, AVF_, V1_, V2_, V3_, V4_, V5_, V6_ };

double& lead_cell(double* out, int measure_id, int std_lead) {
    return out[kRecordMeasures + measure_id * kStdLeads + std_lead];
}

}  // namespace

void measure(const double* x, int n_leads, idx n, double fs, const Fiducials& fid, const int* std_index,
             double* out) {
    std::fill(out, out + kMeasures, kNaN);
    const int nb = fid.n_beats;
    auto g = [&](int f, int b) { return fid.glob[static_cast<std::size_t>(f) * nb + b]; };
    const double ms = 1000.0 / fs;
    out[N_BEATS] = nb;
    if (nb == 0) return;

    // Rhythm.
    std::vector<double> rr;
    for (int b = 1; b < nb; ++b) rr.push_back(static_cast<double>(g(R_PEAK, b) - g(R_PEAK, b - 1)) * ms);
    if (!rr.empty()) {
        double m = 0.0;
        for (double v : rr) m += v;
        m /= static_cast<double>(rr.size());
        out[RR_MEAN] = m;
        out[HEART_RATE] = m > 0.0 ? 60000.0 / m : kNaN;
        if (rr.size() >= 2) {
            double ss = 0.0, sd = 0.0;
            for (double v : rr) ss += (v - m) * (v - m);
            for (std::size_t i = 1; i < rr.size(); ++i) sd += std::fabs(rr[i] - rr[i - 1]);
            out[RR_STD] = std::sqrt(ss / static_cast<double>(rr.size()));
            out[RR_IRREG] = m > 0.0 ? sd / static_cast<double>(rr.size() - 1) / m : kNaN;
        }
    }

    // Intervals: medians over beats of global fiducial differences.
    std::vector<double> pr, pd, qd, qt;
    int with_p = 0;
    for (int b = 0; b < nb; ++b) {
        const auto pon = g(P_ON, b), poff = g(P_OFF, b), qon = g(QRS_ON, b), qoff = g(QRS_OFF, b), toff = g(T_OFF, b);
        if (g(P_PEAK, b) >= 0) ++with_p;
        if (pon >= 0 && qon > pon) pr.push_back(static_cast<double>(qon - pon) * ms);
        if (pon >= 0 && poff > pon) pd.push_back(static_cast<double>(poff - pon) * ms);
        if (qon >= 0 && qoff > qon) qd.push_back(static_cast<double>(qoff - qon) * ms);
        if (qon >= 0 && toff > qon) qt.push_back(static_cast<double>(toff - qon) * ms);
    }
    out[PR] = median(pr);
    out[P_DUR] = median(pd);
    out[QRS_DUR] = median(qd);
    out[QT] = median(qt);
    if (std::isfinite(out[QT]) && std::isfinite(out[RR_MEAN]) && out[RR_MEAN] > 0.0) {
        out[QTC_B] = out[QT] / std::sqrt(out[RR_MEAN] / 1000.0);
        out[QTC_F] = out[QT] / std::cbrt(out[RR_MEAN] / 1000.0);
    }
    out[P_FRACTION] = static_cast<double>(with_p) / nb;

    // PR-segment baseline per beat and lead: mean of the 20 ms before the global QRS onset.
    const idx wb = std::max<idx>(1, secs(0.020, fs));
    const idx st_off = secs(0.060, fs);
    std::vector<double> area_p[2], area_qrs[2], area_t[2];
    for (int k = 0; k < kStdLeads; ++k) {
        const int l = std_index[k];
        if (l < 0 || l >= n_leads) continue;
        const double* xl = x + static_cast<idx>(l) * n;
        std::vector<double> v[kPerLeadMeasures];
        const int axis_slot = k == I_ ? 0 : (k == AVF_ ? 1 : -1);
        for (int b = 0; b < nb; ++b) {
            const auto qon = g(QRS_ON, b), qoff = g(QRS_OFF, b);
            if (qon - wb < 0 || qon >= n) continue;
            double base = 0.0;
            for (idx i = qon - wb; i < qon; ++i) base += xl[i];
            base /= static_cast<double>(wb);
            const auto pp = fid.at(P_PEAK, l, b), tp = fid.at(T_PEAK, l, b);
            if (pp >= 0 && pp < n) v[P_AMP].push_back(xl[pp] - base);
            if (tp >= 0 && tp < n) v[T_AMP].push_back(xl[tp] - base);
            if (qoff > qon && qoff < n) {
                idx r = qon;
                for (idx i = qon; i <= qoff; ++i) if (xl[i] > xl[r]) r = i;
                idx qi = qon, si = r;
                for (idx i = qon; i <= r; ++i) if (xl[i] < xl[qi]) qi = i;
                for (idx i = r; i <= qoff; ++i) if (xl[i] < xl[si]) si = i;
                const double q = std::min(0.0, xl[qi] - base);
                v[R_AMP].push_back(std::max(0.0, xl[r] - base));
                v[Q_AMP].push_back(q);
                v[S_AMP].push_back(std::min(0.0, xl[si] - base));
                v[Q_DEPTH].push_back(-q);
                double qdur = 0.0;
                if (q < 0.0) {
                    idx a = qi, e = qi;
                    while (a > qon && xl[a - 1] - base < 0.0) --a;
                    while (e < r && xl[e + 1] - base < 0.0) ++e;
                    qdur = static_cast<double>(e - a + 1) * ms;
                }
                v[Q_DUR].push_back(qdur);
                if (qoff + st_off < n) v[ST].push_back(xl[qoff + st_off] - base);
            }
            if (axis_slot >= 0) {
                auto area = [&](std::int64_t a, std::int64_t e, std::vector<double>& dst) {
                    if (a < 0 || e <= a || e >= n) return;
                    double s = 0.0;
                    for (idx i = a; i <= e; ++i) s += xl[i] - base;
                    dst.push_back(s / fs);
                };
                area(g(P_ON, b), g(P_OFF, b), area_p[axis_slot]);
                area(qon, qoff, area_qrs[axis_slot]);
                area(qoff, g(T_OFF, b), area_t[axis_slot]);
            }
        }
        for (int m = 0; m < kPerLeadMeasures; ++m) lead_cell(out, m, k) = median(v[m]);
    }
    auto axis = [&](std::vector<double>* a) {
        const double xi = median(a[0]), yf = median(a[1]);
        return std::isfinite(xi) && std::isfinite(yf) ? std::atan2(yf, xi) * 180.0 / kPi : kNaN;
    };
    out[P_AXIS] = axis(area_p);
    out[QRS_AXIS] = axis(area_qrs);
    out[T_AXIS] = axis(area_t);

    // Voltage criteria (NaN propagates when a lead is missing or unmeasurable).
    out[SOKOLOW] = -lead_cell(out, S_AMP, V1_) + std::max(lead_cell(out, R_AMP, V5_), lead_cell(out, R_AMP, V6_));
    if (std::isnan(lead_cell(out, R_AMP, V5_)) || std::isnan(lead_cell(out, R_AMP, V6_))) out[SOKOLOW] = kNaN;
    out[CORNELL] = lead_cell(out, R_AMP, AVL_) - lead_cell(out, S_AMP, V3_);
    auto group_low = [&](int from, int to, double limit, bool& complete) {
        bool low = true;
        complete = true;
        for (int k = from; k < to; ++k) {
            const double pp = lead_cell(out, R_AMP, k) - std::min(lead_cell(out, Q_AMP, k), lead_cell(out, S_AMP, k));
            if (std::isnan(pp)) complete = false;
            else if (pp >= limit) low = false;
        }
        return complete && low;
    };
    bool limb_complete = false, prec_complete = false;
    const bool limb_low = group_low(I_, V1_, 0.5, limb_complete);
    const bool prec_low = group_low(V1_, kStdLeads, 1.0, prec_complete);
    if (limb_low || prec_low) out[LOW_VOLT] = 1.0;
    else if (limb_complete && prec_complete) out[LOW_VOLT] = 0.0;
}

void set_paced_fraction(const std::vector<std::int64_t>& spikes, double fs, double* out) {
    if (fs < kPacingMinFs || spikes.empty()) {
        out[kPacedFraction] = kNaN;
        return;
    }
    std::size_t paced = 0;
    for (std::int64_t s : spikes) paced += s >= 0 ? 1 : 0;
    out[kPacedFraction] = static_cast<double>(paced) / static_cast<double>(spikes.size());
}

Fiducials analyze(const double* raw, int n_leads, idx n, double fs, const int* std_index, double* cond,
                  double* out) {
    for (int l = 0; l < n_leads; ++l) condition_lead(raw + static_cast<idx>(l) * n, n, fs, cond + static_cast<idx>(l) * n);
    const std::vector<std::int64_t> r = detect_r_peaks(cond, n_leads, n, fs);
    const std::vector<std::int64_t> spikes = detect_pacing_spikes(raw, n_leads, n, fs, r);
    Fiducials fid = delineate(cond, n_leads, n, fs, r, spikes);
    measure(cond, n_leads, n, fs, fid, std_index, out);
    set_paced_fraction(spikes, fs, out);
    return fid;
}

void analyze_batch(const double* raw, idx n_records, int n_leads, idx n, double fs, const int* std_index,
                   double* out) {
    parallel_for(n_records, [&](idx r) {
        double* o = out + r * kMeasures;
        try {
            std::vector<double> cond(static_cast<std::size_t>(n_leads) * static_cast<std::size_t>(n));
            analyze(raw + r * n_leads * n, n_leads, n, fs, std_index, cond.data(), o);
        } catch (const std::bad_alloc&) {
            std::fill(o, o + kMeasures, kNaN);
        }
    });
}

}  // namespace delin
}  // namespace fgclep
