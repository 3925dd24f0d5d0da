// Per-lead, per-beat delineation of P, QRS and T waves (see docs/measurements.md).
//
// QRS onset/offset: the outermost strong slopes (>= 30 % of the beat's steepest slope in that
// lead; a 30 ms lull ends the complex), then the knee of each outer limb by the trapezium-area
// method (Vazquez-Seisdedos et al. 2011, applied to the QRS limbs) within physiological windows;
// a paced beat's window starts 10 ms after its pacing stimulus (pacing.hpp). A slow ramp before
// the onset knee that pushes the way of the first deflection (a delta wave, an aberrant beat's
// slurred first limb) for >= 10 ms and >= 10 % of the complex's amplitude moves the onset to the
// ramp's start.
// T peak: the largest deviation from the chord across the ST-T window; T end: mean of the
// trapezium-area knee and the point where the descent slows to 15 % of its steepest, absent when
// the descent never slows (or the record ends inside the T wave's tail). P wave: the largest
// deviation from the chord across the PR window, accepted when it stands clear of the local noise,
// is smooth and has no rival deflection; P on/off by the trapezium knee of each limb. A
// record-level test then drops all P waves when their timing relative to the QRS is not stable
// (atrial fibrillation, flutter, paced rhythms) and single P waves that break the record's PR.
// Cross-lead holds (one activation seen from twelve angles): with >= 3 leads, a lead's QRS on/off
// is held within 20 ms of the median over leads, a lead whose T peak is > 40 ms from the median is
// delineated again with its peak inside median +- 40 ms; then, beat to beat in one lead, a beat of
// the record's usual QRS width whose T peak lies > 20 ms from the lead's median delay after R is
// delineated again with its peak inside that delay +- 40 ms; T peak/end are then held within 40 ms
// of the leads' median. Each lead's limits are also held inside the beat's global wave (one
// activation, one repolarisation: no lead sees a wave start before or end after it): QRS on >=
// global QRS on and QRS off <= global QRS off (after the QRS hold), T end <= global T end (after
// the T holds), P on/off inside the global P wave (at the end). A T wave too small against the
// chord from QRS off + 40 ms is measured from the J point (short RR: no ST segment).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fgclep {
namespace delin {

// Fiducial order, identical to fgclep.leads.FIDUCIALS.
enum Fid : int { P_ON = 0, P_PEAK, P_OFF, QRS_ON, R_PEAK, QRS_OFF, T_PEAK, T_OFF, N_FID };

// Fiducials of one record: lead[(f * n_leads + l) * n_beats + b], glob[f * n_beats + b]; -1 absent.
struct Fiducials {
    int n_leads = 0;
    int n_beats = 0;
    std::vector<std::int64_t> lead;
    std::vector<std::int64_t> glob;
    std::int64_t& at(int f, int l, int b) {
        return lead[(static_cast<std::size_t>(f) * n_leads + l) * n_beats + b];
    }
    std::int64_t at(int f, int l, int b) const {
        return lead[(static_cast<std::size_t>(f) * n_leads + l) * n_beats + b];
    }
    void resize(int leads, int beats);
};

// Per-lead fiducials of conditioned leads x[l * n + i] around the given R peaks, followed by the
// global fiducials (combine_leads). glob[R_PEAK] is the given R peak. pacing (empty, or one entry
// per beat: the pacing stimulus sample or -1, see pacing.hpp): a paced beat's QRS onset is sought
// only from kPaceBlank after the stimulus, whose conditioned (40 Hz) trace would otherwise pass
// for the QRS's first limb; the stimulus is not part of the QRS (CSE/IEC 60601-2-25 convention).
Fiducials delineate(const double* x, int n_leads, std::ptrdiff_t n, double fs,
                    const std::vector<std::int64_t>& r_peaks,
                    const std::vector<std::int64_t>& pacing = {});

// Global per-beat fiducials from per-lead ones: onsets = earliest value on which 3 leads agree
// within a tolerance (10 ms QRS, 20 ms P/T; with 2 leads, both), offsets = latest such value,
// peaks = median of the leads; a single lead's value is used as is; glob[R_PEAK] is kept when
// already set (>= 0).
void combine_leads(Fiducials& fid, double fs);

}  // namespace delin
}  // namespace fgclep
