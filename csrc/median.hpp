// Running medians over rows with scipy.ndimage.median_filter's mode="reflect" edges, and the
// two-stage median baseline removal built on them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fgclep {

// Per-thread scratch for one row (reused across rows to avoid allocations).
template <class T>
struct MedianScratch {
    std::vector<T> sorted;              // row values in ascending order
    std::vector<std::int32_t> rank;     // rank[i]: position of x[i] in `sorted` (ties by index)
    std::vector<std::int32_t> stage1;   // median ranks after each stage
    std::vector<std::int32_t> stage2;
    std::vector<std::int32_t> count;    // window multiplicity per rank
    std::vector<std::uint64_t> present; // bit r set when count[r] > 0
    std::vector<std::uint64_t> keys;    // radix-sort buffers
    std::vector<std::uint64_t> keys_tmp;
};

// out[i] = median of x[i - w/2 .. i + w/2] (w odd, >= 1) where indices outside [0, n) reflect
// about the edge, repeating the edge sample (... x1 x0 | x0 x1 ... x_{n-1} | x_{n-1} x_{n-2} ...).
template <class T>
void running_median(const T* x, T* out, std::ptrdiff_t n, std::ptrdiff_t w, MedianScratch<T>& scratch);

// y = x - median_w2(median_w1(x)) for `rows` contiguous rows of length n (w1, w2 odd).
// Returns the first row holding a NaN or infinity (its output is zeros), or -1.
template <class T>
std::ptrdiff_t median_baseline_rows(const T* x, T* y, std::ptrdiff_t rows, std::ptrdiff_t n, std::ptrdiff_t w1,
                                    std::ptrdiff_t w2);

}  // namespace fgclep
