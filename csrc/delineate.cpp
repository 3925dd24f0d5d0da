// Per-lead, per-beat delineation (see delineate.hpp and docs/measurements.md).
#include "delineate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace fgclep {
namespace delin {
namespace {

using idx = std::ptrdiff_t;

// Physiological constants of the method (seconds or fractions); none is fitted to a record.
constexpr double kSlopeHalfWidth = 0.004;  // derivative over +-4 ms
constexpr double kCoreHalf = 0.080;        // the QRS's steepest slope lies within +-80 ms of R
constexpr double kQrsBefore = 0.150;       // QRS onset at most 150 ms before R
constexpr double kQrsAfter = 0.180;        // QRS offset at most 180 ms after R
constexpr double kStrong = 0.30;          // "strong" slope: >= 30 % of the beat's maximum
constexpr double kGap = 0.030;             // a 30 ms lull in strong slope ends the complex
// QRS knee: xr lies 80 ms before the first strong slope (inside the PR segment: a longer span
// reaches the P wave, whose deflection drags the knee late) and 140 ms after the last one (the
// terminal QRS of a conduction delay is slurred: a shorter span ends it on the slur).
constexpr double kKneeBefore = 0.080;
constexpr double kKneeAfter = 0.140;
constexpr double kKneeAfterRr = 0.25;  // ... at most RR/4: the ST segment shortens with RR (xr stays short of T)
constexpr double kSmallWave = 0.040;     // a small initial/terminal QRS wave (q, s) ends within 40 ms
constexpr double kSmallSlope = 0.03;     // ... its slope is >= 3 % of the beat's steepest slope
constexpr double kSmallKnee = 0.020;     // ... and its knee is sought within 20 ms of its steepest point
constexpr double kSmallIso = 2.0;        // ... and is deeper than 2x the isoelectric segment's peak-to-peak
constexpr double kTurn = 0.006;          // near-zero slope bridged at a turning point
// Slurred onset (a delta wave, an aberrant beat's slow first limb): a ramp of >= kSmallSlope of the
// steepest slope, the way of the QRS's first deflection, lasting >= 10 ms and rising >= 10 % of the
// QRS's own amplitude before the knee, sought up to 200 ms before R (such a QRS starts earlier).
constexpr double kSlurMin = 0.010;
constexpr double kSlurRise = 0.10;
constexpr double kSlurBefore = 0.200;
constexpr double kLeadSpread = 0.020;    // a lead's QRS on/off lies within 20 ms of the leads' median
constexpr double kTLeadSpread = 0.040;   // a lead's T peak/end lies within 40 ms of the leads' median
constexpr double kTBeatSpread = 0.020;   // ... and its T peak within 20 ms of its usual delay after R
constexpr double kTypicalQrs = 0.040;    // a beat of the record's usual QRS: global width within 40 ms of the median
constexpr double kWeakLead = 0.20;       // QRS slope share below which a lead does not vote
constexpr std::size_t kVotes = 3;        // global onsets/offsets: the earliest/latest value on which 3 leads agree,
constexpr double kQrsAgree = 0.010;      // ... i.e. lie within 10 ms of each other (QRS)
constexpr double kPtAgree = 0.020;       // ... or 20 ms (P, T)
constexpr double kPrMax = 0.40;            // P peak search starts at most 400 ms before QRS onset
constexpr double kPFrac = 0.30;            // P extent for the tests: deviation >= 30 % of P amplitude
constexpr double kPKneeSpan = 0.080;      // P on/off knee: xr lies 80 ms outside the steepest P slope
constexpr double kTSteepSpan = 0.100;     // T end: steepest descent within 100 ms after the T peak
constexpr double kTEndSpan = 0.100;       // T end: xr lies 100 ms after that steepest descent
constexpr double kTSlopeFrac = 0.15;      // T end: slope-threshold estimate where the descent slows to 15 % of its steepest
constexpr double kTSlopeSearch = 0.200;   // ... sought within 200 ms after the steepest descent
constexpr double kPMinRise = 0.010;       // s, P amplitude / steepest P slope
constexpr double kPMinAmp = 0.01;          // mV, smallest P wave reported
constexpr double kTMinAmp = 0.01;          // mV, smallest T wave reported
constexpr double kNoiseFactor = 3.0;       // a P/T wave must exceed 3x the lead noise
constexpr double kPaceBlank = 0.010;       // a pacing stimulus smeared by the 40 Hz low-pass spans +-10 ms

idx secs(double s, double fs) { return static_cast<idx>(std::lround(s * fs)); }
// A fraction of a sample count (an RR interval), truncated to whole samples.
idx part(double fraction, idx samples) { return static_cast<idx>(fraction * static_cast<double>(samples)); }

void moving_average(const double* x, idx n, idx w, std::vector<double>& out) {
    out.assign(static_cast<std::size_t>(n), 0.0);
    const idx h = std::max<idx>(0, w / 2);
    std::vector<double> cs(static_cast<std::size_t>(n) + 1, 0.0);
    for (idx i = 0; i < n; ++i) cs[i + 1] = cs[i] + x[i];
    for (idx i = 0; i < n; ++i) {
        const idx lo = std::max<idx>(0, i - h), hi = std::min<idx>(n, i + h + 1);
        out[i] = (cs[hi] - cs[lo]) / static_cast<double>(hi - lo);
    }
}

double median_of(std::vector<double> v) {
    if (v.empty()) return 0.0;
    const std::size_t k = (v.size() - 1) / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<idx>(k), v.end());
    return v[k];
}

struct Lead {
    const double* x;
    std::vector<double> d, sp, st;
    double noise;
};

Lead prepare(const double* x, idx n, double fs) {
    Lead L;
    L.x = x;
    const idx k = std::max<idx>(1, secs(kSlopeHalfWidth, fs));
    L.d.assign(static_cast<std::size_t>(n), 0.0);
    for (idx i = k; i + k < n; ++i) L.d[i] = (x[i + k] - x[i - k]) * fs / static_cast<double>(2 * k);
    moving_average(x, n, secs(0.020, fs) | 1, L.sp);
    moving_average(x, n, secs(0.040, fs) | 1, L.st);
    // Noise: robust SD of what a 20 ms moving average removes.
    std::vector<double> r(static_cast<std::size_t>(n));
    for (idx i = 0; i < n; ++i) r[i] = std::fabs(x[i] - L.sp[i]);
    L.noise = 1.4826 * median_of(std::move(r));
    return L;
}

// Deviation of s[i] from the chord s[a]..s[b].
double chord_dev(const std::vector<double>& s, idx a, idx b, idx i) {
    const double t = b > a ? static_cast<double>(i - a) / static_cast<double>(b - a) : 0.0;
    return s[i] - (s[a] + t * (s[b] - s[a]));
}

// Largest |chord_dev(s, a, b, i)| over i in [from, to]: updates best (signed) and pk where larger.
void chord_peak(const std::vector<double>& s, idx a, idx b, idx from, idx to, double& best, idx& pk) {
    for (idx i = from; i <= to; ++i) {
        const double dv = chord_dev(s, a, b, i);
        if (std::fabs(dv) > std::fabs(best)) { best = dv; pk = i; }
    }
}

struct Beat {
    idx r, rr_prev, rr_next;
    idx pace;  // pacing stimulus before this beat, or -1
};

double delineate_qrs(const Lead& L, idx n, double fs, const Beat& bt, std::int64_t out[N_FID]) {
    idx lo = std::max<idx>(1, bt.r - std::min(secs(kQrsBefore, fs), part(0.45, bt.rr_prev)));
    if (bt.pace >= 0) lo = std::max(lo, bt.pace + secs(kPaceBlank, fs));
    const idx hi = std::min<idx>(n - 2, bt.r + std::min(secs(kQrsAfter, fs), part(0.5, bt.rr_next)));
    if (hi - lo < 4) return 0.0;
    const idx c_lo = std::max(lo, bt.r - secs(kCoreHalf, fs)), c_hi = std::min(hi, bt.r + secs(kCoreHalf, fs));
    idx m = c_lo;
    for (idx i = c_lo; i <= c_hi; ++i) if (std::fabs(L.d[i]) > std::fabs(L.d[m])) m = i;
    const double smax = std::fabs(L.d[m]);
    // Flat or noise-only lead: the steepest slope must beat the noise slope by a wide margin.
    if (!(smax > 1e-9) || smax < 5.0 * L.noise * fs / static_cast<double>(std::max<idx>(1, secs(0.010, fs)))) return 0.0;
    const double strong = kStrong * smax;
    const idx gap = std::max<idx>(2, secs(kGap, fs));
    idx first = m, last = m;
    for (idx i = m, quiet = 0; i >= lo && quiet < gap; --i) {
        if (std::fabs(L.d[i]) >= strong) { first = i; quiet = 0; } else { ++quiet; }
    }
    for (idx i = m, quiet = 0; i <= hi && quiet < gap; ++i) {
        if (std::fabs(L.d[i]) >= strong) { last = i; quiet = 0; } else { ++quiet; }
    }
    // Knee of the complex's outer limbs (trapezium-area method): the sample between the outermost
    // strong slope xm and a point xr 80 ms before (onset) or 140 ms after (offset) it that maximises |x(xm) - x(i)| * |i - xr|.
    auto knee = [&](idx xm, idx xr) {
        idx best_i = xm;
        double best_a = -1.0;
        const idx step = xr < xm ? 1 : -1;
        for (idx i = xr; i != xm; i += step) {
            const double a = std::fabs(L.x[xm] - L.x[i]) * static_cast<double>(std::labs(i - xr));
            if (a > best_a) { best_a = a; best_i = i; }
        }
        return best_i;
    };
    // A knee that is a turning point (the bottom of a small initial q or terminal s wave whose
    // slope is too weak to count as strong) is not where the signal leaves/returns to the
    // baseline. When the signal just outside the knee moves the opposite way (after at most kTurn
    // of near-zero slope) with a slope >= max(kSmallSlope of the beat's steepest slope, 3x the
    // noise slope), that wave ends within kSmallWave of the knee, and it is deeper than
    // kNoiseFactor x the noise and kSmallIso x the peak-to-peak of the kSmallWave isoelectric
    // segment beyond it (low-frequency noise passes the 40 Hz filter and makes q-like wiggles),
    // the limit moves to that small wave's own knee (trapezium method with xr kSmallKnee outside
    // its steepest point: a small wave is short, so a 100 ms span would reach into the P or T wave).
    const double noise_slope = L.noise * fs / static_cast<double>(std::max<idx>(1, secs(0.010, fs)));
    const double thr = std::max(kSmallSlope * smax, 3.0 * noise_slope);
    auto small_wave = [&](idx k, int dir) {
        const idx h = std::max<idx>(1, secs(0.004, fs));
        const idx inner = std::clamp<idx>(k - dir * h, 0, n - 1);
        const double sgn = (L.x[k] - L.x[inner]) * static_cast<double>(dir) > 0.0 ? 1.0 : -1.0;
        const idx lim = dir < 0 ? std::max(lo, k - secs(kSmallWave, fs)) : std::min(hi, k + secs(kSmallWave, fs));
        const idx turn = std::max<idx>(1, secs(kTurn, fs));
        idx i = k + dir;
        for (idx s = 0; (lim - i) * dir >= 0 && s < turn && std::fabs(L.d[i]) < thr; ++s) i += dir;
        if ((lim - i) * dir < 0 || std::fabs(L.d[i]) < thr || sgn * L.d[i] > 0.0) return k;
        idx m2 = i;
        for (; (lim - i) * dir >= 0 && sgn * L.d[i] < 0.0 && std::fabs(L.d[i]) >= thr; i += dir)
            if (std::fabs(L.d[i]) > std::fabs(L.d[m2])) m2 = i;
        if ((lim - i) * dir < 0) return k;  // still moving at the window's edge: not a small wave
        const idx k2 = knee(m2, dir < 0 ? std::max(lo, m2 - secs(kSmallKnee, fs)) : std::min(hi, m2 + secs(kSmallKnee, fs)));
        // The small wave must stand out of the isoelectric segment beyond it.
        const idx s0 = dir < 0 ? std::max<idx>(0, k2 - secs(kSmallWave, fs)) : k2;
        const idx s1 = dir < 0 ? k2 : std::min<idx>(n - 1, k2 + secs(kSmallWave, fs));
        double mn = L.x[s0], mx = L.x[s0];
        for (idx j = s0; j <= s1; ++j) { mn = std::min(mn, L.x[j]); mx = std::max(mx, L.x[j]); }
        const double depth = std::fabs(L.x[k2] - L.x[k]);
        return depth < kNoiseFactor * L.noise || depth < kSmallIso * (mx - mn) ? k : k2;
    };
    // The trapezium knee sits where the steep limb starts; a slow initial ramp before it (a delta
    // wave, the slurred first limb of an aberrant or ventricular beat) belongs to the QRS. Walking
    // back from the knee while the slope keeps pushing toward the QRS (>= thr, lulls of at most
    // kTurn bridged) finds where that ramp leaves the baseline; a ramp of >= kSlurMin that covers
    // >= kSlurRise of the complex's amplitude moves the onset there. The walk stops at a P wave's
    // descending limb (its slope points away from the QRS) and at a flat PR segment.
    auto slurred_onset = [&](idx on) {
        idx floor_i = std::max<idx>(1, bt.r - std::min(secs(kSlurBefore, fs), part(0.45, bt.rr_prev)));
        if (bt.pace >= 0) floor_i = std::max(floor_i, bt.pace + secs(kPaceBlank, fs));
        // Direction of the complex's first deflection (10 ms after the onset).
        const double dir = L.x[std::min(last, on + secs(0.010, fs))] > L.x[on] ? 1.0 : -1.0;
        const idx max_lull = std::max<idx>(1, secs(kTurn, fs));
        idx start = on;
        for (idx i = on, lull = 0; i > floor_i; --i) {
            if (dir * L.d[i] >= thr) { start = i; lull = 0; } else if (++lull > max_lull) { break; }
        }
        double amp = 0.0;
        for (idx j = on; j <= last; ++j) amp = std::max(amp, std::fabs(L.x[j] - L.x[on]));
        const bool ramp = on - start >= secs(kSlurMin, fs) && dir * (L.x[on] - L.x[start]) >= kSlurRise * amp;
        return ramp ? start : on;
    };
    const idx on = slurred_onset(small_wave(knee(first, std::max(lo, first - secs(kKneeBefore, fs))), -1));
    const idx off = small_wave(knee(last, std::min(hi, last + std::min(secs(kKneeAfter, fs), static_cast<idx>(kKneeAfterRr * static_cast<double>(bt.rr_next))))), +1);
    // R peak of this lead: the largest deflection from the onset level near the global R.
    const double base = L.x[on];
    const idx r_lo = std::max(on, bt.r - secs(0.060, fs)), r_hi = std::min(off, bt.r + secs(0.060, fs));
    idx r = std::clamp(bt.r, on, off);
    for (idx i = r_lo; i <= r_hi; ++i) if (std::fabs(L.x[i] - base) > std::fabs(L.x[r] - base)) r = i;
    out[QRS_ON] = on;
    out[R_PEAK] = r;
    out[QRS_OFF] = off;
    return smax;
}

// T peak and end of one lead and beat. The peak is sought in [peak_lo, peak_hi] when given (>= 0):
// the second, consensus pass below.
void delineate_t(const Lead& L, idx n, double fs, const Beat& bt, std::int64_t qrs_off, std::int64_t out[N_FID],
                 idx peak_lo = -1, idx peak_hi = -1) {
    const idx lo = qrs_off + secs(0.040, fs);
    const idx hi = std::min<idx>(n - 1, bt.r + std::min(secs(0.60, fs), part(0.62, bt.rr_next)));
    const idx edge = std::max<idx>(1, secs(0.010, fs));
    if (hi - lo < secs(0.060, fs) || hi - lo < 3 * edge) return;
    const idx s_lo = peak_lo >= 0 ? std::max(lo + edge, peak_lo) : lo + edge;
    const idx s_hi = peak_hi >= 0 ? std::min(hi - edge, peak_hi) : hi - edge;
    if (s_hi < s_lo) return;
    idx pk = s_lo;
    double best = 0.0;
    chord_peak(L.st, lo, hi, s_lo, s_hi, best, pk);
    const double t_min = std::max(kTMinAmp, kNoiseFactor * L.noise);
    if (std::fabs(best) < t_min && lo - secs(0.040, fs) >= 0) {
        // At short RR the ST segment shortens and the T wave can start at the J point: a chord
        // anchored 40 ms after the QRS then lies on the T wave itself. Measure the T wave from the
        // J point (the QRS offset) instead; the peak search window is unchanged.
        const idx j = lo - secs(0.040, fs);
        chord_peak(L.st, j, hi, s_lo, s_hi, best, pk);
    }
    if (std::fabs(best) < t_min) return;
    const double sgn = best > 0.0 ? 1.0 : -1.0;
    // Trapezium method: xm = steepest descent after the peak, xr = a point beyond the T end.
    // The slope and the 20 ms moving average are not defined on the record's last samples (their
    // windows run off its end, where they would flatten a T wave the record cuts off).
    const idx last_valid = n - 1 - std::max<idx>(1, secs(kSlopeHalfWidth, fs)) - secs(0.010, fs);
    const idx bound = std::min<idx>(last_valid, bt.r + std::min(secs(0.75, fs), part(0.85, bt.rr_next)));
    if (bound - pk < 3) return;
    // The T wave is slow: its steepest descent is taken on the 20 ms moving average (the signal the
    // area below is computed on), so residual noise does not move xm (and the T end) beat to beat.
    const idx k = std::max<idx>(1, secs(kSlopeHalfWidth, fs));
    auto tslope = [&](idx i) { return L.sp[std::min(n - 1, i + k)] - L.sp[std::max<idx>(0, i - k)]; };
    idx xm = pk + 1;
    for (idx i = pk + 1; i <= std::min(bound, pk + secs(kTSteepSpan, fs)); ++i) if (-sgn * tslope(i) > -sgn * tslope(xm)) xm = i;
    const idx xr = std::min(bound, xm + secs(kTEndSpan, fs));
    idx te = xm;
    double area = -1.0;
    for (idx i = xm; i <= xr; ++i) {
        const double a = sgn * 0.5 * (L.sp[xm] - L.sp[i]) * static_cast<double>(2 * xr - i - xm);
        if (a > area) { area = a; te = i; }
    }
    // Second estimate (slope threshold, as in Laguna et al. 1994): the first sample after xm where
    // the descent has slowed to kTSlopeFrac of its steepest slope. It follows the T wave's own tail
    // (a slow tail ends later, a short steep one earlier) where the trapezium knee sits at a nearly
    // fixed distance from xm; the T end is the mean of the two estimates. A descent that does not
    // slow down within kTSlopeSearch and before the window's bound has no measurable end (a T
    // wave cut off by the end of the record, a step artifact or drift): the T end is absent.
    const double steep = -sgn * tslope(xm);
    out[T_PEAK] = pk;
    for (idx i = xm + 1; i <= std::min(bound, xm + secs(kTSlopeSearch, fs)); ++i) {
        if (-sgn * tslope(i) < kTSlopeFrac * steep) {
            out[T_OFF] = (te + i) / 2;
            return;
        }
    }
}

// Spatial T peak of one beat: the largest sum over leads of |deviation of the 40 ms moving average
// from the lead's chord across the T window| (each lead's baseline removed by its own chord), or -1.
// The leads with the largest T waves dominate it, so a small deflection (an f wave, a U wave,
// noise) that one low-amplitude lead takes for its T peak does not move it.
idx spatial_t_peak(const std::vector<Lead>& leads, idx n, double fs, const Beat& bt, std::int64_t qrs_off) {
    if (qrs_off < 0) return -1;
    const idx lo = qrs_off + secs(0.040, fs);
    const idx hi = std::min<idx>(n - 1, bt.r + std::min(secs(0.60, fs), part(0.62, bt.rr_next)));
    const idx edge = std::max<idx>(1, secs(0.010, fs));
    if (hi - lo < secs(0.060, fs) || hi - lo < 3 * edge) return -1;
    idx pk = -1;
    double best = 0.0;
    for (idx i = lo + edge; i <= hi - edge; ++i) {
        double e = 0.0;
        for (const Lead& L : leads) e += std::fabs(chord_dev(L.st, lo, hi, i));
        if (e > best) { best = e; pk = i; }
    }
    return pk;
}

void delineate_p(const Lead& L, double fs, const Beat& bt, std::int64_t prev_t_off, std::int64_t qrs_on,
                 std::int64_t out[N_FID]) {
    const idx we = qrs_on - std::max<idx>(1, secs(0.010, fs));
    idx ws = std::max<idx>(0, we - secs(kPrMax, fs));
    ws = std::max(ws, bt.r - bt.rr_prev + part(0.55, bt.rr_prev));
    if (prev_t_off >= 0) ws = std::max<idx>(ws, prev_t_off + secs(0.010, fs));
    const idx edge = std::max<idx>(1, secs(0.010, fs));
    if (we - ws < secs(0.060, fs) || we - ws < 4 * edge) return;
    idx pk = ws + edge;
    double best = 0.0;
    chord_peak(L.sp, ws, we, ws + edge, we - edge, best, pk);
    const double amp = std::fabs(best);
    if (amp < std::max(kPMinAmp, kNoiseFactor * L.noise)) return;
    const double sgn = best > 0.0 ? 1.0 : -1.0;
    idx on = pk, off = pk;
    while (on > ws && sgn * chord_dev(L.sp, ws, we, on) > kPFrac * amp) --on;
    while (off < we && sgn * chord_dev(L.sp, ws, we, off) > kPFrac * amp) ++off;
    // Knee of each limb (trapezium-area method) between its steepest point and a point
    // kPKneeSpan outside it (the 30 % extent above bounds the steepest-point search).
    const idx span = secs(kPKneeSpan, fs);
    idx xm = pk;
    for (idx i = std::max(on, ws); i < pk; ++i) if (sgn * L.d[i] > sgn * L.d[xm]) xm = i;
    const idx xr_on = std::max(ws, xm - span);
    idx best_i = xm; double best_a = -1.0;
    for (idx i = xr_on; i < xm; ++i) {
        const double a = sgn * (L.sp[xm] - L.sp[i]) * static_cast<double>(i - xr_on);
        if (a > best_a) { best_a = a; best_i = i; }
    }
    on = best_i;
    idx ym = pk;
    for (idx i = pk; i <= std::min(off, we); ++i) if (-sgn * L.d[i] > -sgn * L.d[ym]) ym = i;
    const idx xr_off = std::min(we, ym + span);
    best_i = ym; best_a = -1.0;
    for (idx i = ym; i <= xr_off; ++i) {
        const double a = sgn * (L.sp[ym] - L.sp[i]) * static_cast<double>(xr_off - i);
        if (a > best_a) { best_a = a; best_i = i; }
    }
    off = best_i;
    const double dur = static_cast<double>(off - on) / fs;
    if (dur < 0.040 || dur > 0.250) return;
    // A P wave is smooth: amplitude / steepest slope >= 10 ms (a pacing spike's is a few ms).
    double steep = 0.0;
    for (idx i = on; i <= off; ++i) steep = std::max(steep, std::fabs(L.d[i]));
    if (amp < kPMinRise * steep) return;
    // Atrial activity elsewhere in the window as large as this wave: not a distinct P wave.
    double other = 0.0;
    for (idx i = ws + edge; i <= we - edge; ++i) {
        if (i >= on - edge && i <= off + edge) continue;
        other = std::max(other, std::fabs(chord_dev(L.sp, ws, we, i)));
    }
    if (other > 0.8 * amp) return;
    out[P_ON] = on;
    out[P_PEAK] = pk;
    out[P_OFF] = off;
}

// Record-level P test: P waves must keep a stable timing relative to the R peak.
void p_wave_test(Fiducials& fid, const std::vector<Beat>& beats, double fs, double rr_irregularity) {
    const int nl = fid.n_leads, nb = fid.n_beats;
    const int need = std::max(1, nl / 4);
    std::vector<double> pr(static_cast<std::size_t>(nb), -1.0), all;
    for (int b = 0; b < nb; ++b) {
        std::vector<double> v;
        for (int l = 0; l < nl; ++l) if (fid.at(P_PEAK, l, b) >= 0) v.push_back(static_cast<double>(fid.at(P_PEAK, l, b)));
        if (static_cast<int>(v.size()) < need) continue;
        pr[b] = static_cast<double>(beats[b].r) - median_of(v);
        all.push_back(pr[b]);
    }
    bool present = nb > 0 && static_cast<double>(all.size()) >= std::max(2.0, 0.3 * nb);
    double med = 0.0;
    if (present) {
        med = median_of(all);
        int stable = 0;
        for (int b = 0; b < nb; ++b) if (pr[b] >= 0.0 && std::fabs(pr[b] - med) <= 0.025 * fs) ++stable;
        const double needed = rr_irregularity > 0.15 ? 0.7 : 0.5;
        present = stable >= 2 && stable >= needed * nb;
    }
    for (int b = 0; b < nb; ++b) {
        const bool keep_beat = present && pr[b] >= 0.0 && std::fabs(pr[b] - med) <= 0.040 * fs;
        const double beat_peak = static_cast<double>(beats[b].r) - pr[b];
        for (int l = 0; l < nl; ++l) {
            const bool keep = keep_beat && fid.at(P_PEAK, l, b) >= 0 &&
                              std::fabs(static_cast<double>(fid.at(P_PEAK, l, b)) - beat_peak) <= 0.040 * fs;
            if (!keep) fid.at(P_ON, l, b) = fid.at(P_PEAK, l, b) = fid.at(P_OFF, l, b) = -1;
        }
    }
}

// Hold each lead's onset on_f (a fiducial, or -1 for none) at or after the beat's global onset
// and its offset off_f at or before the global offset. A lead whose wave would be left with its
// onset after its offset (it lies outside the global wave altogether) keeps its own limits.
void clamp_to_global(Fiducials& fid, int on_f, int off_f) {
    const int nl = fid.n_leads, nb = fid.n_beats;
    for (int b = 0; b < nb; ++b) {
        const std::int64_t g_on = on_f >= 0 ? fid.glob[static_cast<std::size_t>(on_f) * nb + b] : -1;
        const std::int64_t g_off = off_f >= 0 ? fid.glob[static_cast<std::size_t>(off_f) * nb + b] : -1;
        for (int l = 0; l < nl; ++l) {
            std::int64_t on = on_f >= 0 ? fid.at(on_f, l, b) : -1;
            std::int64_t off = off_f >= 0 ? fid.at(off_f, l, b) : -1;
            if (g_on >= 0 && on >= 0) on = std::max(on, g_on);
            if (g_off >= 0 && off >= 0) off = std::min(off, g_off);
            if (on >= 0 && off >= 0 && on > off) continue;
            if (on_f >= 0) fid.at(on_f, l, b) = on;
            if (off_f >= 0) fid.at(off_f, l, b) = off;
        }
    }
}

}  // namespace

void Fiducials::resize(int leads, int beats) {
    n_leads = leads;
    n_beats = beats;
    lead.assign(static_cast<std::size_t>(N_FID) * leads * beats, -1);
    glob.assign(static_cast<std::size_t>(N_FID) * beats, -1);
}

Fiducials delineate(const double* x, int n_leads, idx n, double fs, const std::vector<std::int64_t>& r_peaks,
                    const std::vector<std::int64_t>& pacing) {
    Fiducials fid;
    const int nb = static_cast<int>(r_peaks.size());
    fid.resize(n_leads, nb);
    if (nb == 0) return fid;
    std::vector<double> rr;
    for (int b = 1; b < nb; ++b) rr.push_back(static_cast<double>(r_peaks[b] - r_peaks[b - 1]));
    const double rr_med = rr.empty() ? fs : median_of(rr);
    double irr = 0.0;
    if (rr.size() >= 2) {
        double s = 0.0, m = 0.0;
        for (std::size_t i = 1; i < rr.size(); ++i) s += std::fabs(rr[i] - rr[i - 1]);
        for (double v : rr) m += v;
        irr = (s / static_cast<double>(rr.size() - 1)) / (m / static_cast<double>(rr.size()));
    }
    std::vector<Beat> beats(static_cast<std::size_t>(nb));
    for (int b = 0; b < nb; ++b) {
        const idx r = static_cast<idx>(r_peaks[b]);
        const idx prev = b > 0 ? r - static_cast<idx>(r_peaks[b - 1]) : static_cast<idx>(rr_med);
        const idx next = b + 1 < nb ? static_cast<idx>(r_peaks[b + 1]) - r : static_cast<idx>(rr_med);
        const idx pace = pacing.size() == r_peaks.size() ? static_cast<idx>(pacing[b]) : -1;
        beats[b] = Beat{r, b > 0 ? prev : next, b + 1 < nb ? next : prev, pace};
        if (nb == 1) beats[b].rr_prev = beats[b].rr_next = static_cast<idx>(rr_med);
    }
    // Pass 1: QRS in every lead, combined into global QRS on/off that frame the P and T windows.
    // Leads whose steepest QRS slope is under kWeakLead of the beat's steepest lead keep their
    // own limits but do not vote for the global ones (their onsets are noise-limited).
    std::vector<Lead> leads;
    leads.reserve(static_cast<std::size_t>(n_leads));
    std::vector<double> slope(static_cast<std::size_t>(n_leads) * nb, 0.0), best(static_cast<std::size_t>(nb), 0.0);
    for (int l = 0; l < n_leads; ++l) {
        leads.push_back(prepare(x + static_cast<idx>(l) * n, n, fs));
        for (int b = 0; b < nb; ++b) {
            std::int64_t f[N_FID];
            std::fill(f, f + N_FID, -1);
            slope[static_cast<std::size_t>(l) * nb + b] = delineate_qrs(leads[l], n, fs, beats[b], f);
            best[b] = std::max(best[b], slope[static_cast<std::size_t>(l) * nb + b]);
            for (int k = QRS_ON; k <= QRS_OFF; ++k) fid.at(k, l, b) = f[k];
        }
    }
    // One ventricular activation: the leads see the same QRS and differ only in where its
    // projection leaves/returns to the isoelectric line. A lead's QRS onset/offset further than
    // kLeadSpread from the median over leads (a P or T wave, a pacing spike or noise taken into
    // the complex, or a low-amplitude limb cut short) is pulled back to median +- kLeadSpread.
    auto hold_near_median = [&](int k, double spread_s) {
        const std::int64_t spread = std::max<std::int64_t>(1, secs(spread_s, fs));
        std::vector<std::int64_t> v;
        for (int b = 0; b < nb; ++b) {
            v.clear();
            for (int l = 0; l < n_leads; ++l) if (fid.at(k, l, b) >= 0) v.push_back(fid.at(k, l, b));
            if (v.size() < 3) continue;
            std::nth_element(v.begin(), v.begin() + static_cast<idx>((v.size() - 1) / 2), v.end());
            const std::int64_t med = v[(v.size() - 1) / 2];
            for (int l = 0; l < n_leads; ++l)
                if (fid.at(k, l, b) >= 0) fid.at(k, l, b) = std::clamp(fid.at(k, l, b), med - spread, med + spread);
        }
    };
    hold_near_median(QRS_ON, kLeadSpread);
    hold_near_median(QRS_OFF, kLeadSpread);
    {
        Fiducials voters = fid;
        for (int l = 0; l < n_leads; ++l)
            for (int b = 0; b < nb; ++b)
                if (slope[static_cast<std::size_t>(l) * nb + b] < kWeakLead * best[b])
                    for (int k = QRS_ON; k <= QRS_OFF; ++k) voters.at(k, l, b) = -1;
        combine_leads(voters, fs);
        fid.glob = voters.glob;
    }
    // No lead sees the ventricles activate before activation starts or after it ends: a lead's QRS
    // onset earlier than the global onset (a P wave's tail or noise taken into the complex) moves
    // to it, and likewise an offset later than the global offset.
    clamp_to_global(fid, QRS_ON, QRS_OFF);
    // Pass 2: T per lead and beat.
    auto run_t = [&](int l, int b, idx peak_lo, idx peak_hi) {
        std::int64_t f[N_FID];
        for (int k = 0; k < N_FID; ++k) f[k] = fid.at(k, l, b);
        f[T_PEAK] = f[T_OFF] = -1;
        const std::int64_t g_off = fid.glob[static_cast<std::size_t>(QRS_OFF) * nb + b];
        if (f[QRS_ON] >= 0) delineate_t(leads[l], n, fs, beats[b], g_off >= 0 ? g_off : f[QRS_OFF], f, peak_lo, peak_hi);
        if (f[T_PEAK] < 0 && peak_lo >= 0) return;  // nothing in the consensus window: keep the first pass
        fid.at(T_PEAK, l, b) = f[T_PEAK];
        fid.at(T_OFF, l, b) = f[T_OFF];
    };
    for (int l = 0; l < n_leads; ++l)
        for (int b = 0; b < nb; ++b) run_t(l, b, -1, -1);
    // Repolarisation too is one process seen from twelve angles: the leads' T peaks are normally
    // within ~40 ms of each other. A lead whose T peak lies further than kTLeadSpread from the
    // beat's spatial T peak (spatial_t_peak; the leads' median when there is none) took another
    // deflection for the T wave (a U wave, an overshoot after a negative T, a P or f wave); its T
    // wave is sought again with the peak restricted to spatial peak +- kTLeadSpread, and its T end
    // follows from that peak.
    {
        const idx spread = std::max<idx>(1, secs(kTLeadSpread, fs));
        std::vector<std::int64_t> v;
        for (int b = 0; b < nb; ++b) {
            v.clear();
            for (int l = 0; l < n_leads; ++l) if (fid.at(T_PEAK, l, b) >= 0) v.push_back(fid.at(T_PEAK, l, b));
            if (v.size() < 3) continue;
            std::nth_element(v.begin(), v.begin() + static_cast<idx>((v.size() - 1) / 2), v.end());
            const std::int64_t g_off = fid.glob[static_cast<std::size_t>(QRS_OFF) * nb + b];
            const idx g = spatial_t_peak(leads, n, fs, beats[b], g_off);
            const idx ref = g >= 0 ? g : static_cast<idx>(v[(v.size() - 1) / 2]);
            for (int l = 0; l < n_leads; ++l) {
                const std::int64_t tp = fid.at(T_PEAK, l, b);
                if (tp >= 0 && std::llabs(tp - ref) > spread) run_t(l, b, ref - spread, ref + spread);
            }
        }
    }
    // Repolarisation also keeps its timing from beat to beat: in one lead, the T peak of beats with
    // the record's usual QRS lies at a nearly fixed delay after the R peak. A beat whose T peak is
    // further than kTBeatSpread from the lead's median delay over those beats took another
    // deflection (an f or flutter wave, the other lobe of a notched T, noise); its T wave is sought
    // again with the peak inside median delay +- kTLeadSpread. Beats whose global QRS width differs
    // from the record's median by more than kTypicalQrs (ectopic, aberrant) have their own T wave
    // and neither vote nor move.
    if (nb >= 3) {
        std::vector<double> width(static_cast<std::size_t>(nb), -1.0);
        for (int b = 0; b < nb; ++b) {
            const std::int64_t a = fid.glob[static_cast<std::size_t>(QRS_ON) * nb + b];
            const std::int64_t z = fid.glob[static_cast<std::size_t>(QRS_OFF) * nb + b];
            if (a >= 0 && z >= a) width[b] = static_cast<double>(z - a);
        }
        std::vector<double> known;
        for (double w : width) if (w >= 0.0) known.push_back(w);
        const double usual = median_of(known);
        std::vector<char> typical(static_cast<std::size_t>(nb), 0);
        for (int b = 0; b < nb; ++b) typical[b] = width[b] >= 0.0 && std::fabs(width[b] - usual) <= kTypicalQrs * fs;
        const idx tol = std::max<idx>(1, secs(kTBeatSpread, fs)), win = std::max<idx>(1, secs(kTLeadSpread, fs));
        std::vector<double> delay;
        for (int l = 0; l < n_leads; ++l) {
            delay.clear();
            for (int b = 0; b < nb; ++b)
                if (typical[b] && fid.at(T_PEAK, l, b) >= 0) delay.push_back(static_cast<double>(fid.at(T_PEAK, l, b) - beats[b].r));
            if (delay.size() < 3) continue;
            const idx med = static_cast<idx>(std::lround(median_of(delay)));
            for (int b = 0; b < nb; ++b) {
                const std::int64_t tp = fid.at(T_PEAK, l, b);
                if (typical[b] && tp >= 0 && std::llabs(tp - beats[b].r - med) > tol)
                    run_t(l, b, beats[b].r + med - win, beats[b].r + med + win);
            }
        }
    }
    // The spread of T ends over the leads (QT dispersion) is normally under ~50 ms. A lead's T
    // peak/end still further than kTLeadSpread from the leads' median (a knee found on a flat
    // tail) is pulled back to median +- kTLeadSpread, keeping QRS off <= T peak <= T end.
    hold_near_median(T_PEAK, kTLeadSpread);
    hold_near_median(T_OFF, kTLeadSpread);
    // Repolarisation ends once: a lead's T end later than the global T end (the latest on which
    // 3 leads agree within 20 ms; a knee found on a slow tail or a U wave) moves to it, before
    // the T ends bound the next beats' P windows.
    {
        Fiducials t_only = fid;
        combine_leads(t_only, fs);
        for (int b = 0; b < nb; ++b) fid.glob[static_cast<std::size_t>(T_OFF) * nb + b] = t_only.glob[static_cast<std::size_t>(T_OFF) * nb + b];
        clamp_to_global(fid, -1, T_OFF);
    }
    for (int l = 0; l < n_leads; ++l)
        for (int b = 0; b < nb; ++b) {
            std::int64_t& tp = fid.at(T_PEAK, l, b);
            std::int64_t& te = fid.at(T_OFF, l, b);
            if (tp >= 0) tp = std::max(tp, fid.at(QRS_OFF, l, b));
            if (te >= 0) te = std::max(te, tp);
        }
    // Pass 3: P per lead and beat (its window starts after the lead's previous T end).
    for (int l = 0; l < n_leads; ++l) {
        std::int64_t prev_t_off = -1;
        for (int b = 0; b < nb; ++b) {
            std::int64_t f[N_FID];
            for (int k = 0; k < N_FID; ++k) f[k] = fid.at(k, l, b);
            const std::int64_t g_on = fid.glob[static_cast<std::size_t>(QRS_ON) * nb + b];
            if (f[QRS_ON] >= 0) delineate_p(leads[l], fs, beats[b], prev_t_off, g_on >= 0 ? g_on : f[QRS_ON], f);
            prev_t_off = f[T_OFF];
            for (int k = P_ON; k <= P_OFF; ++k) fid.at(k, l, b) = f[k];
        }
    }
    p_wave_test(fid, beats, fs, irr);
    for (int b = 0; b < nb; ++b) fid.glob[static_cast<std::size_t>(R_PEAK) * nb + b] = r_peaks[b];
    combine_leads(fid, fs);
    // Atrial activation as well: P on/off held inside the global P wave. (The final combine
    // leaves the global QRS and T limits above as they were: the leads lie inside them, short of
    // a lead whose T peak itself lies after the global T end, and the leads that agreed on them
    // still do.)
    clamp_to_global(fid, P_ON, P_OFF);
    return fid;
}

void combine_leads(Fiducials& fid, double fs) {
    const int nl = fid.n_leads, nb = fid.n_beats;
    const std::int64_t tol_qrs = std::max<std::int64_t>(1, secs(kQrsAgree, fs));
    const std::int64_t tol_pt = std::max<std::int64_t>(1, secs(kPtAgree, fs));
    std::vector<std::int64_t> v;
    for (int f = 0; f < N_FID; ++f) {
        const bool onset = f == P_ON || f == QRS_ON;
        const bool offset = f == P_OFF || f == QRS_OFF || f == T_OFF;
        const std::int64_t tol = (f == QRS_ON || f == QRS_OFF) ? tol_qrs : tol_pt;
        for (int b = 0; b < nb; ++b) {
            std::int64_t& g = fid.glob[static_cast<std::size_t>(f) * nb + b];
            if (f == R_PEAK && g >= 0) continue;
            v.clear();
            for (int l = 0; l < nl; ++l) if (fid.at(f, l, b) >= 0) v.push_back(fid.at(f, l, b));
            if (v.empty()) { g = -1; continue; }
            std::sort(v.begin(), v.end());
            const std::size_t k = v.size();
            g = v[(k - 1) / 2];  // median: peaks, and onsets/offsets on which too few leads agree
            if (k == 1) continue;
            // kVotes leads agree when they lie within tol of each other (fewer leads: all of them)
            const std::size_t span = std::min<std::size_t>(k, kVotes) - 1;
            if (onset) {
                for (std::size_t i = 0; i + span < k; ++i) if (v[i + span] - v[i] <= tol) { g = v[i]; break; }
            } else if (offset) {
                for (std::size_t i = k - 1; i >= span; --i) if (v[i] - v[i - span] <= tol) { g = v[i]; break; }
            }
        }
    }
}

}  // namespace delin
}  // namespace fgclep
