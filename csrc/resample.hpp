// Polyphase resampling by up/down agreeing with scipy.signal.resample_poly's defaults
// (window=("kaiser", 5.0), padtype="constant"), with the FIR designed here as scipy.signal.firwin.
#pragma once
#include <cstddef>
#include <vector>

namespace fgclep {

// Modified Bessel function of the first kind, order 0 (power series; |x| <= ~50).
double bessel_i0(double x);

// scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta)): low-pass, cutoff relative to
// Nyquist in (0, 1), scaled to unit gain at DC.
std::vector<double> firwin_kaiser(std::ptrdiff_t numtaps, double cutoff, double beta);

// Output length ceil(n * up / down) after reducing up/down by their gcd.
std::ptrdiff_t resample_poly_length(std::ptrdiff_t n, std::ptrdiff_t up, std::ptrdiff_t down);

// Resample `rows` contiguous rows of n samples into y (rows x resample_poly_length(n, up, down)).
// Returns the first row holding a NaN or infinity, or -1.
template <class T>
std::ptrdiff_t resample_poly_rows(const T* x, T* y, std::ptrdiff_t rows, std::ptrdiff_t n, std::ptrdiff_t up,
                                  std::ptrdiff_t down);

}  // namespace fgclep
