// Zero-phase second-order-section filtering (scipy.signal.sosfiltfilt) over many rows.
//
// Rows are processed four at a time in lockstep: a thread-local buffer holds the odd-extended
// rows interleaved sample by sample ([t][lane]), so that one vector register carries the same
// section state of four rows. All sections run per sample (their recurrences are independent
// chains, which keeps the floating-point units busy) with the states in registers; the section
// count is a template parameter so that the loop over sections unrolls. The arithmetic per
// section is scipy's transposed direct form II:
//   y = b0 x + z0;  z0 = b1 x - a1 y + z1;  z1 = b2 x - a2 y.
#include "filters.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "parallel.hpp"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define FGCLEP_HAVE_AVX2_KERNEL 1
#include <immintrin.h>
#endif

namespace fgclep {
namespace {

constexpr int kLanes = 4;
constexpr int kMaxSections = 12;
constexpr std::ptrdiff_t kSerialBelow = 200000;  // row-samples (about 0.5 ms of work)

struct Coefs {
    double b0, b1, b2, a1, a2;
};

std::atomic<bool>& simd_allowed() {
    static std::atomic<bool> allowed{true};
    return allowed;
}

// One pass over `len` interleaved samples starting at buf, stepping by `step` samples (+1 or
// -1); state[s] = {z0[4], z1[4]} on entry and exit.
template <int NS>
void pass_generic(double* buf, std::ptrdiff_t len, std::ptrdiff_t step, const Coefs* c,
                  double (*state)[2][kLanes]) {
    double z0[NS][kLanes], z1[NS][kLanes];
    for (int s = 0; s < NS; ++s)
        for (int l = 0; l < kLanes; ++l) { z0[s][l] = state[s][0][l]; z1[s][l] = state[s][1][l]; }
    double* p = buf;
    for (std::ptrdiff_t t = 0; t < len; ++t, p += step * kLanes) {
        double v[kLanes];
        for (int l = 0; l < kLanes; ++l) v[l] = p[l];
        for (int s = 0; s < NS; ++s) {
            for (int l = 0; l < kLanes; ++l) {
                const double y = c[s].b0 * v[l] + z0[s][l];
                z0[s][l] = c[s].b1 * v[l] - c[s].a1 * y + z1[s][l];
                z1[s][l] = c[s].b2 * v[l] - c[s].a2 * y;
                v[l] = y;
            }
        }
        for (int l = 0; l < kLanes; ++l) p[l] = v[l];
    }
    for (int s = 0; s < NS; ++s)
        for (int l = 0; l < kLanes; ++l) { state[s][0][l] = z0[s][l]; state[s][1][l] = z1[s][l]; }
}

#ifdef FGCLEP_HAVE_AVX2_KERNEL
// Unit: every section after the first has b0 == b2 == 1 (Butterworth sections other than the
// one carrying the gain: b = [1, +-2, 1]); multiplying by 1 is exact, so skipping it changes no
// bit of the result and saves two operations and two loads per such section.
template <int NS, bool Unit>
__attribute__((target("avx2,fma"))) void pass_avx2(double* buf, std::ptrdiff_t len, std::ptrdiff_t step,
                                                   const Coefs* c, double (*state)[2][kLanes]) {
    __m256d z0[NS], z1[NS];
    for (int s = 0; s < NS; ++s) {
        z0[s] = _mm256_loadu_pd(state[s][0]);
        z1[s] = _mm256_loadu_pd(state[s][1]);
    }
    double* p = buf;
    for (std::ptrdiff_t t = 0; t < len; ++t, p += step * kLanes) {
        __m256d v = _mm256_loadu_pd(p);
        for (int s = 0; s < NS; ++s) {
            const __m256d b1 = _mm256_broadcast_sd(&c[s].b1), a1 = _mm256_broadcast_sd(&c[s].a1);
            const __m256d a2 = _mm256_broadcast_sd(&c[s].a2);
            if (Unit && s > 0) {
                const __m256d y = _mm256_add_pd(v, z0[s]);
                z0[s] = _mm256_fnmadd_pd(a1, y, _mm256_fmadd_pd(b1, v, z1[s]));
                z1[s] = _mm256_fnmadd_pd(a2, y, v);
                v = y;
            } else {
                const __m256d b0 = _mm256_broadcast_sd(&c[s].b0), b2 = _mm256_broadcast_sd(&c[s].b2);
                // b0 x is formed off the recurrence, so y waits for one add (not an FMA), and
                // b1 x + z1 and b2 x do not wait for y: only one FMA each follows it.
                const __m256d y = _mm256_add_pd(_mm256_mul_pd(b0, v), z0[s]);
                z0[s] = _mm256_fnmadd_pd(a1, y, _mm256_fmadd_pd(b1, v, z1[s]));
                z1[s] = _mm256_fnmadd_pd(a2, y, _mm256_mul_pd(b2, v));
                v = y;
            }
        }
        _mm256_storeu_pd(p, v);
    }
    for (int s = 0; s < NS; ++s) {
        _mm256_storeu_pd(state[s][0], z0[s]);
        _mm256_storeu_pd(state[s][1], z1[s]);
    }
}

bool cpu_has_avx2_fma() {
    static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return ok;
}

// 4 x 4 transposes between rows and the interleaved buffer, 4 samples at a time. They return
// how many samples they handled (a multiple of 4); the caller finishes the rest.
__attribute__((target("avx2"))) inline void transpose4(__m256d& a, __m256d& b, __m256d& c, __m256d& d) {
    const __m256d t0 = _mm256_unpacklo_pd(a, b), t1 = _mm256_unpackhi_pd(a, b);
    const __m256d t2 = _mm256_unpacklo_pd(c, d), t3 = _mm256_unpackhi_pd(c, d);
    a = _mm256_permute2f128_pd(t0, t2, 0x20);
    b = _mm256_permute2f128_pd(t1, t3, 0x20);
    c = _mm256_permute2f128_pd(t0, t2, 0x31);
    d = _mm256_permute2f128_pd(t1, t3, 0x31);
}

__attribute__((target("avx2"))) inline void load4(const float* const* x, std::ptrdiff_t i, __m256d* v) {
    __m128 r0 = _mm_loadu_ps(x[0] + i), r1 = _mm_loadu_ps(x[1] + i);
    __m128 r2 = _mm_loadu_ps(x[2] + i), r3 = _mm_loadu_ps(x[3] + i);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    v[0] = _mm256_cvtps_pd(r0);
    v[1] = _mm256_cvtps_pd(r1);
    v[2] = _mm256_cvtps_pd(r2);
    v[3] = _mm256_cvtps_pd(r3);
}

__attribute__((target("avx2"))) inline void load4(const double* const* x, std::ptrdiff_t i, __m256d* v) {
    for (int l = 0; l < 4; ++l) v[l] = _mm256_loadu_pd(x[l] + i);
    transpose4(v[0], v[1], v[2], v[3]);
}

__attribute__((target("avx2"))) inline void store4(float* const* y, std::ptrdiff_t i, const double* src) {
    __m128 r0 = _mm256_cvtpd_ps(_mm256_loadu_pd(src)), r1 = _mm256_cvtpd_ps(_mm256_loadu_pd(src + 4));
    __m128 r2 = _mm256_cvtpd_ps(_mm256_loadu_pd(src + 8)), r3 = _mm256_cvtpd_ps(_mm256_loadu_pd(src + 12));
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(y[0] + i, r0);
    _mm_storeu_ps(y[1] + i, r1);
    _mm_storeu_ps(y[2] + i, r2);
    _mm_storeu_ps(y[3] + i, r3);
}

__attribute__((target("avx2"))) inline void store4(double* const* y, std::ptrdiff_t i, const double* src) {
    __m256d v[4];
    for (int l = 0; l < 4; ++l) v[l] = _mm256_loadu_pd(src + 4 * l);
    transpose4(v[0], v[1], v[2], v[3]);
    for (int l = 0; l < 4; ++l) _mm256_storeu_pd(y[l] + i, v[l]);
}

template <class T>
__attribute__((target("avx2"))) std::ptrdiff_t interleave_avx2(double* mid, const T* const* x, std::ptrdiff_t n,
                                                                double* check) {
    __m256d acc = _mm256_loadu_pd(check);
    std::ptrdiff_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d v[4];
        load4(x, i, v);
        for (int k = 0; k < 4; ++k) {
            acc = _mm256_add_pd(acc, _mm256_sub_pd(v[k], v[k]));
            _mm256_storeu_pd(mid + (i + k) * 4, v[k]);
        }
    }
    _mm256_storeu_pd(check, acc);
    return i;
}

template <class T>
__attribute__((target("avx2"))) std::ptrdiff_t deinterleave_avx2(T* const* y, const double* res, std::ptrdiff_t n) {
    std::ptrdiff_t i = 0;
    for (; i + 4 <= n; i += 4) store4(y, i, res + i * 4);
    return i;
}
#endif

using PassFn = void (*)(double*, std::ptrdiff_t, std::ptrdiff_t, const Coefs*, double (*)[2][kLanes]);

template <int NS>
PassFn pick_for(bool simd, bool unit) {
#ifdef FGCLEP_HAVE_AVX2_KERNEL
    if (simd) return unit ? &pass_avx2<NS, true> : &pass_avx2<NS, false>;
#else
    (void)simd;
#endif
    (void)unit;
    return &pass_generic<NS>;
}

template <std::size_t... I>
PassFn pick_pass(int ns, bool simd, bool unit, std::index_sequence<I...>) {
    PassFn table[] = {pick_for<static_cast<int>(I) + 1>(simd, unit)...};
    return table[ns - 1];
}

bool use_simd() {
#ifdef FGCLEP_HAVE_AVX2_KERNEL
    return simd_allowed().load() && cpu_has_avx2_fma();
#else
    return false;
#endif
}

// Interleave kLanes rows into buf ([t][lane]) with scipy's odd extension of `edge` samples at
// both ends. scipy builds the extension in the input dtype, so it is rounded to T first.
// Returns NaN when any sample is NaN or infinite (0 otherwise), per lane in check[].
template <class T>
void fill_block(double* buf, const T* const* x, std::ptrdiff_t n, std::ptrdiff_t edge, double* check) {
    for (std::ptrdiff_t j = 0; j < edge; ++j)
        for (int l = 0; l < kLanes; ++l)
            buf[j * kLanes + l] = static_cast<double>(static_cast<T>(T(2) * x[l][0] - x[l][edge - j]));
    double acc[kLanes] = {};
    double* mid = buf + edge * kLanes;
    std::ptrdiff_t start = 0;
#ifdef FGCLEP_HAVE_AVX2_KERNEL
    if (use_simd()) start = interleave_avx2(mid, x, n, acc);
#endif
    for (std::ptrdiff_t i = start; i < n; ++i)
        for (int l = 0; l < kLanes; ++l) {
            const double v = static_cast<double>(x[l][i]);
            acc[l] += v - v;  // becomes NaN as soon as one value is NaN or infinite
            mid[i * kLanes + l] = v;
        }
    double* right = buf + (edge + n) * kLanes;
    for (std::ptrdiff_t j = 0; j < edge; ++j)
        for (int l = 0; l < kLanes; ++l)
            right[j * kLanes + l] = static_cast<double>(static_cast<T>(T(2) * x[l][n - 1] - x[l][n - 2 - j]));
    for (int l = 0; l < kLanes; ++l) check[l] = acc[l];
}

void atomic_min(std::atomic<std::ptrdiff_t>& target, std::ptrdiff_t value) {
    std::ptrdiff_t cur = target.load();
    while ((cur < 0 || value < cur) && !target.compare_exchange_weak(cur, value)) {
    }
}

}  // namespace

const char* filter_kernel_name() { return use_simd() ? "avx2" : "generic"; }

void set_filter_simd(bool enabled) { simd_allowed().store(enabled); }

template <class T>
std::ptrdiff_t sosfiltfilt_rows(const T* x, T* y, std::ptrdiff_t rows, std::ptrdiff_t n, const SosMatrix& sos) {
    const std::ptrdiff_t edge = sosfiltfilt_padlen(sos);
    if (n <= edge) throw std::invalid_argument("sosfiltfilt_rows: rows must be longer than the padding");
    return sosfiltfilt_rows(x, y, rows, n, sos, edge);
}

template <class T>
std::ptrdiff_t sosfiltfilt_rows(const T* x, T* y, std::ptrdiff_t rows, std::ptrdiff_t n, const SosMatrix& sos,
                                std::ptrdiff_t padlen) {
    const int ns = static_cast<int>(sos.size());
    if (ns < 1 || ns > kMaxSections) throw std::invalid_argument("sosfiltfilt_rows: 1..12 sections supported");
    if (n < 2) throw std::invalid_argument("sosfiltfilt_rows: rows need at least 2 samples");
    const std::ptrdiff_t edge = std::max<std::ptrdiff_t>(0, std::min(padlen, n - 1));
    std::vector<Coefs> coefs(sos.size());
    for (std::size_t s = 0; s < sos.size(); ++s) {
        const double a0 = sos[s][3];
        coefs[s] = {sos[s][0] / a0, sos[s][1] / a0, sos[s][2] / a0, sos[s][4] / a0, sos[s][5] / a0};
    }
    const auto zi = sosfilt_zi(sos);
    bool unit = true;
    for (std::size_t s = 1; s < coefs.size(); ++s) unit = unit && coefs[s].b0 == 1.0 && coefs[s].b2 == 1.0;
    const bool simd = use_simd();
    const PassFn pass = pick_pass(ns, simd, unit, std::make_index_sequence<kMaxSections>{});
    const std::ptrdiff_t len = n + 2 * edge;
    const std::ptrdiff_t blocks = (rows + kLanes - 1) / kLanes;
    std::atomic<std::ptrdiff_t> first_bad{-1};

    auto filter_block = [&](std::ptrdiff_t blk) {
        thread_local std::vector<double> buffer;
        if (buffer.size() < static_cast<std::size_t>(len * kLanes)) buffer.resize(static_cast<std::size_t>(len * kLanes));
        double* buf = buffer.data();
        const std::ptrdiff_t r0 = blk * kLanes;
        const T* src[kLanes];
        for (int l = 0; l < kLanes; ++l) src[l] = x + std::min(r0 + l, rows - 1) * n;  // spare lanes repeat the last row
        double check[kLanes];
        fill_block(buf, src, n, edge, check);
        for (int l = 0; l < kLanes; ++l)
            if (std::isnan(check[l])) atomic_min(first_bad, std::min(r0 + l, rows - 1));
        double state[kMaxSections][2][kLanes];
        // Forward pass from zi * first extended sample, backward pass from zi * last output.
        for (int s = 0; s < ns; ++s)
            for (int l = 0; l < kLanes; ++l) {
                state[s][0][l] = zi[s][0] * buf[l];
                state[s][1][l] = zi[s][1] * buf[l];
            }
        pass(buf, len, 1, coefs.data(), state);
        double* last = buf + (len - 1) * kLanes;
        for (int s = 0; s < ns; ++s)
            for (int l = 0; l < kLanes; ++l) {
                state[s][0][l] = zi[s][0] * last[l];
                state[s][1][l] = zi[s][1] * last[l];
            }
        pass(last, len, -1, coefs.data(), state);
        const double* res = buf + edge * kLanes;
        if (r0 + kLanes <= rows) {
            T* out[kLanes];
            for (int l = 0; l < kLanes; ++l) out[l] = y + (r0 + l) * n;
            std::ptrdiff_t start = 0;
#ifdef FGCLEP_HAVE_AVX2_KERNEL
            if (simd) start = deinterleave_avx2(out, res, n);
#endif
            for (std::ptrdiff_t i = start; i < n; ++i)
                for (int l = 0; l < kLanes; ++l) out[l][i] = static_cast<T>(res[i * kLanes + l]);
        } else {
            for (std::ptrdiff_t l = 0; r0 + l < rows; ++l)
                for (std::ptrdiff_t i = 0; i < n; ++i) y[(r0 + l) * n + i] = static_cast<T>(res[i * kLanes + l]);
        }
    };
    // Small jobs (one record) run on the calling thread: starting threads would cost more.
    if (rows * len < kSerialBelow) {
        for (std::ptrdiff_t blk = 0; blk < blocks; ++blk) filter_block(blk);
    } else {
        parallel_for(blocks, filter_block);
    }
    return first_bad.load();
}

template std::ptrdiff_t sosfiltfilt_rows<float>(const float*, float*, std::ptrdiff_t, std::ptrdiff_t, const SosMatrix&);
template std::ptrdiff_t sosfiltfilt_rows<double>(const double*, double*, std::ptrdiff_t, std::ptrdiff_t, const SosMatrix&);
template std::ptrdiff_t sosfiltfilt_rows<float>(const float*, float*, std::ptrdiff_t, std::ptrdiff_t, const SosMatrix&,
                                                std::ptrdiff_t);
template std::ptrdiff_t sosfiltfilt_rows<double>(const double*, double*, std::ptrdiff_t, std::ptrdiff_t, const SosMatrix&,
                                                 std::ptrdiff_t);

}  // namespace fgclep
