// R-peak detection over all leads together, and the signal conditioning the delineator shares.
//
// Method (Pan & Tompkins 1985, extended to many leads): each lead is band-passed 5-15 Hz,
// differentiated and squared; every lead's energy is divided by its own robust scale (98th
// percentile) so that inverted, small or large leads count alike; the normalised energies are
// summed and integrated over a 100 ms moving window. Peaks of the integrated energy are classified
// with Pan-Tompkins' adaptive signal/noise levels, a 250 ms refractory period, T-wave rejection
// within 360 ms and search-back after 1.66 mean RR. Each detection is refined to the extremum of
// the dominant polarity in the lead with the largest deflection within +-60 ms.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fgclep {
namespace delin {

// Second-order section (a0 = 1), transposed direct form II.
struct Biquad {
    double b0, b1, b2, a1, a2;
};

Biquad butter2_lowpass(double cutoff_hz, double fs);
Biquad butter2_highpass(double cutoff_hz, double fs);

// Zero-phase forward-backward filtering in place, like scipy.signal.filtfilt(b, a, x,
// padtype="odd", padlen=padlen) with lfilter_zi initial conditions. padlen is clamped to n - 1.
void filtfilt(const Biquad& f, double* x, std::ptrdiff_t n, std::ptrdiff_t padlen);

// Pad length used by every zero-phase filter of the delineator: 1 s of signal.
std::ptrdiff_t pad_length(double fs, std::ptrdiff_t n);

// Signal conditioning for delineation and measurements: non-finite samples are replaced by
// linear interpolation between the nearest finite neighbours (constant at the ends; zeros for an
// all-missing lead), then zero-phase 2nd-order Butterworth high-pass 0.5 Hz and low-pass
// min(40 Hz, 0.4 fs). out may equal in.
void condition_lead(const double* in, std::ptrdiff_t n, double fs, double* out);

// R-peak sample indices (ascending) from conditioned leads x[lead * n + i].
std::vector<std::int64_t> detect_r_peaks(const double* x, int n_leads, std::ptrdiff_t n, double fs);

}  // namespace delin
}  // namespace fgclep
