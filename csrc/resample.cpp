// resample_poly: upsample by `up` (zeros between samples), FIR low-pass h * up at
// 1 / max(up, down) of Nyquist with 2 * 10 * max(up, down) + 1 taps, keep every `down`-th
// sample, aligned so that output j sits at input time j * down / up. Only the taps that meet
// a non-zero (input) sample are evaluated: phase (c mod up) of the filter, c = half_len + j * down.
#include "resample.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "parallel.hpp"

namespace fgclep {
namespace {

constexpr double kPi = 3.141592653589793;

double sinc(double x) {  // numpy.sinc
    const double y = kPi * (x == 0.0 ? 1.0e-20 : x);
    return std::sin(y) / y;
}

void atomic_min(std::atomic<std::ptrdiff_t>& target, std::ptrdiff_t value) {
    std::ptrdiff_t cur = target.load();
    while ((cur < 0 || value < cur) && !target.compare_exchange_weak(cur, value)) {
    }
}

}  // namespace

double bessel_i0(double x) {
    // I0(x) = sum_k ((x/2)^k / k!)^2; all terms positive, so the sum is accurate to rounding.
    const double q = 0.25 * x * x;
    double term = 1.0, sum = 1.0;
    for (int k = 1; k < 500; ++k) {
        term *= q / (static_cast<double>(k) * static_cast<double>(k));
        sum += term;
        if (term < sum * 1e-17) break;
    }
    return sum;
}

std::vector<double> firwin_kaiser(std::ptrdiff_t numtaps, double cutoff, double beta) {
    if (numtaps < 1) throw std::invalid_argument("firwin_kaiser: numtaps must be >= 1");
    if (!(cutoff > 0.0 && cutoff < 1.0)) throw std::invalid_argument("firwin_kaiser: cutoff must be in (0, 1)");
    const double alpha = 0.5 * static_cast<double>(numtaps - 1);
    const double i0_beta = bessel_i0(beta);
    std::vector<double> h(static_cast<std::size_t>(numtaps));
    for (std::ptrdiff_t i = 0; i < numtaps; ++i) {
        const double m = static_cast<double>(i) - alpha;
        double win = 1.0;  // scipy's kaiser() returns ones for a single tap
        if (numtaps > 1) {
            const double r = (static_cast<double>(i) - alpha) / alpha;
            win = bessel_i0(beta * std::sqrt(1.0 - r * r)) / i0_beta;
        }
        h[static_cast<std::size_t>(i)] = cutoff * sinc(cutoff * m) * win;
    }
    const double s = std::accumulate(h.begin(), h.end(), 0.0);  // unit gain at DC
    for (auto& v : h) v /= s;
    return h;
}

std::ptrdiff_t resample_poly_length(std::ptrdiff_t n, std::ptrdiff_t up, std::ptrdiff_t down) {
    const std::ptrdiff_t g = std::gcd(up, down);
    up /= g;
    down /= g;
    return (n * up) / down + ((n * up) % down != 0);
}

template <class T>
std::ptrdiff_t resample_poly_rows(const T* x, T* y, std::ptrdiff_t rows, std::ptrdiff_t n, std::ptrdiff_t up,
                                  std::ptrdiff_t down) {
    if (up < 1 || down < 1) throw std::invalid_argument("resample_poly_rows: up and down must be >= 1");
    const std::ptrdiff_t g = std::gcd(up, down);
    up /= g;
    down /= g;
    const std::ptrdiff_t n_out = resample_poly_length(n, up, down);
    std::atomic<std::ptrdiff_t> first_bad{-1};
    auto finite_row = [&](const T* xr) {
        double acc = 0.0;
        for (std::ptrdiff_t i = 0; i < n; ++i) acc += static_cast<double>(xr[i]) - static_cast<double>(xr[i]);
        return !std::isnan(acc);
    };
    if (up == 1 && down == 1) {
        parallel_for(rows, [&](std::ptrdiff_t r) {
            if (!finite_row(x + r * n)) atomic_min(first_bad, r);
            std::copy(x + r * n, x + (r + 1) * n, y + r * n);
        });
        return first_bad.load();
    }
    const std::ptrdiff_t max_rate = std::max(up, down);
    const std::ptrdiff_t half_len = 10 * max_rate;
    std::vector<double> h = firwin_kaiser(2 * half_len + 1, 1.0 / static_cast<double>(max_rate), 5.0);
    for (auto& v : h) v *= static_cast<double>(up);
    const auto taps = static_cast<std::ptrdiff_t>(h.size());

    parallel_for(rows, [&](std::ptrdiff_t r) {
        const T* xr = x + r * n;
        T* yr = y + r * n_out;
        if (!finite_row(xr)) atomic_min(first_bad, r);
        for (std::ptrdiff_t j = 0; j < n_out; ++j) {
            const std::ptrdiff_t c = half_len + j * down;  // position of output j on the upsampled grid
            const std::ptrdiff_t phase = c % up;
            const std::ptrdiff_t base = c / up;  // input index met by tap `phase`
            // Taps phase + t * up meet input base - t; keep 0 <= base - t < n and tap < taps.
            std::ptrdiff_t t0 = std::max<std::ptrdiff_t>(0, base - (n - 1));
            std::ptrdiff_t t1 = std::min<std::ptrdiff_t>(base, (taps - 1 - phase) / up);
            double acc = 0.0;
            for (std::ptrdiff_t t = t0; t <= t1; ++t)
                acc += h[static_cast<std::size_t>(phase + t * up)] * static_cast<double>(xr[base - t]);
            yr[j] = static_cast<T>(acc);
        }
    });
    return first_bad.load();
}

template std::ptrdiff_t resample_poly_rows<float>(const float*, float*, std::ptrdiff_t, std::ptrdiff_t,
                                                  std::ptrdiff_t, std::ptrdiff_t);
template std::ptrdiff_t resample_poly_rows<double>(const double*, double*, std::ptrdiff_t, std::ptrdiff_t,
                                                   std::ptrdiff_t, std::ptrdiff_t);

}  // namespace fgclep
