// IIR design (Butterworth, notch) as second-order sections and zero-phase filtering of rows.
//
// The design functions reproduce scipy.signal.butter(..., output="sos") (including zpk2sos's
// "nearest" pole/zero pairing and section order) and scipy.signal.iirnotch; sosfiltfilt_rows
// reproduces scipy.signal.sosfiltfilt(sos, x, axis=-1) with its default odd padding and
// sosfilt_zi initial conditions. The recursion runs in double for float and double rows.
#pragma once
#include <array>
#include <cstddef>
#include <vector>

namespace fgclep {

using Section = std::array<double, 6>;  // b0 b1 b2 a0 a1 a2 (a0 == 1)
using SosMatrix = std::vector<Section>;

enum class BandType { lowpass, highpass, bandpass };

// Butterworth filter of the given order (1..20). For lowpass only `high` is used, for highpass
// only `low`; cutoffs in Hz, 0 < cutoff < fs / 2. Throws std::invalid_argument on bad input.
SosMatrix butter_sos(int order, double low, double high, double fs, BandType type);

// scipy.signal.iirnotch(freq, quality, fs) as one section [b, a].
Section iirnotch_section(double freq, double quality, double fs);

// scipy.signal.sosfilt_zi: steady-state initial conditions of the step response (n x 2).
std::vector<std::array<double, 2>> sosfilt_zi(const SosMatrix& sos);

// scipy.signal.sosfiltfilt's default padding length:
// 3 * (2 * n_sections + 1 - min(#(b2 == 0), #(a2 == 0))).
std::ptrdiff_t sosfiltfilt_padlen(const SosMatrix& sos);

// Zero-phase filtering of `rows` contiguous rows of length n (n > padlen) from x into y (x and y
// may alias). Returns the index of the first row holding a NaN or infinity, or -1 when all are
// finite (rows with non-finite values are still written, with meaningless values).
template <class T>
std::ptrdiff_t sosfiltfilt_rows(const T* x, T* y, std::ptrdiff_t rows, std::ptrdiff_t n,
                                const SosMatrix& sos);

// The same with an explicit odd-padding length (clamped to n - 1) in place of scipy's default,
// like sosfiltfilt(..., padlen=padlen): the delineator pads 1 s so that edge beats are usable.
template <class T>
std::ptrdiff_t sosfiltfilt_rows(const T* x, T* y, std::ptrdiff_t rows, std::ptrdiff_t n,
                                const SosMatrix& sos, std::ptrdiff_t padlen);

// Vector kernel selection: "avx2" (x86-64 with AVX2+FMA, chosen at run time) or "generic".
const char* filter_kernel_name();
// Force the generic kernel (false) or allow the vector one (true); for tests and benchmarks.
void set_filter_simd(bool enabled);

}  // namespace fgclep
