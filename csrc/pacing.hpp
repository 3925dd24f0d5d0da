// Pacemaker stimulus artifacts ("pacing spikes") before each QRS complex.
//
// A stimulus lasts 0.1-2 ms, far shorter than any cardiac wave: in a record sampled at >= 250 Hz
// it appears as a jump of about one sample that the 40 Hz conditioning smears into a fake steep
// limb ahead of the paced QRS. The spike is found on the RAW leads (before conditioning): per beat,
// in the window from 200 ms before to 50 ms after the R peak, the sample whose one-sample step
// (1-2 ms at 500-1000 Hz), summed over leads, is the largest. It is a stimulus when (a) that step is >= 2.5 times the
// steepest 8 ms slope of the window, also summed over leads (a one-sample jump; a cardiac limb is
// as steep over 8 ms as over 2 ms), and (b) the signal is quiet before it: the steepest 8 ms slope
// in the 4-30 ms before the jump is under 10 % of the window's steepest (a jump inside a
// clipped or notched QRS fails this).  Both thresholds are properties of a sampled step and are
// not fitted to records.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fgclep {
namespace delin {

// Lowest sampling rate at which stimuli are sought (below it a stimulus is not told from a limb).
constexpr double kPacingMinFs = 250.0;

// Per beat, the sample index of the pacing stimulus preceding it, or -1. raw[l * n + i] are the
// unconditioned leads (non-finite samples are ignored); r_peaks ascending.
std::vector<std::int64_t> detect_pacing_spikes(const double* raw, int n_leads, std::ptrdiff_t n, double fs,
                                               const std::vector<std::int64_t>& r_peaks);

}  // namespace delin
}  // namespace fgclep
