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

// Zero-phase 2nd-order Butterworth low-/high-pass of one row in place with odd padding of
// pad_length samples (fgclep::butter_sos + fgclep::sosfiltfilt_rows, the filtering core's own
// design and filter). The cutoff is clamped to 0.45 fs.
void lowpass2(double* x, std::ptrdiff_t n, double cutoff_hz, double fs, std::ptrdiff_t padlen);
void highpass2(double* x, std::ptrdiff_t n, double cutoff_hz, double fs, std::ptrdiff_t padlen);

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
