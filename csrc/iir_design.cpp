// Butterworth and notch design mirroring scipy.signal (buttap -> lp2{lp,hp,bp}_zpk ->
// bilinear_zpk -> zpk2sos(pairing="nearest")), operation by operation, so that the sections
// agree with scipy's to the last bit or so. Complex products and quotients follow NumPy's
// formulas (plain products, Smith's division) rather than C's Annex G versions.
#include <algorithm>
#include <cmath>
#include <complex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "filters.hpp"

namespace fgclep {
namespace {

using cd = std::complex<double>;
using CVec = std::vector<cd>;
constexpr double kPi = 3.141592653589793;

cd cmul(cd a, cd b) {
    return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}

cd cdiv(cd a, cd b) {  // NumPy's complex division (Smith's algorithm)
    const double br = b.real(), bi = b.imag();
    if (std::fabs(br) >= std::fabs(bi)) {
        const double rat = bi / br;
        const double scl = 1.0 / (br + bi * rat);
        return {(a.real() + a.imag() * rat) * scl, (a.imag() - a.real() * rat) * scl};
    }
    const double rat = br / bi;
    const double scl = 1.0 / (bi + br * rat);
    return {(a.real() * rat + a.imag()) * scl, (a.imag() * rat - a.real()) * scl};
}

cd cprod(const CVec& v) {
    if (v.empty()) return {1.0, 0.0};
    cd acc = v[0];
    for (std::size_t i = 1; i < v.size(); ++i) acc = cmul(acc, v[i]);
    return acc;
}

bool is_real(cd z) { return z.imag() == 0.0; }

// scipy.signal._filter_design._cplxreal: one member of each conjugate pair (sorted by real part,
// then |imag|), followed by the real values (sorted).
CVec cplxreal(CVec z) {
    const double tol = 100.0 * 2.220446049250313e-16;
    std::stable_sort(z.begin(), z.end(), [](cd a, cd b) {
        if (a.real() != b.real()) return a.real() < b.real();
        return std::fabs(a.imag()) < std::fabs(b.imag());
    });
    CVec reals, zp, zn;
    for (cd v : z) {
        if (std::fabs(v.imag()) <= tol * std::abs(v)) reals.emplace_back(v.real(), 0.0);
        else if (v.imag() > 0) zp.push_back(v);
        else zn.push_back(v);
    }
    if (zp.size() != zn.size()) throw std::invalid_argument("unpaired complex root in filter design");
    // Runs of (nearly) equal real part are sorted by |imag|.
    std::size_t start = 0;
    while (start < zp.size()) {
        std::size_t stop = start + 1;
        while (stop < zp.size() && zp[stop].real() - zp[stop - 1].real() <= tol * std::abs(zp[stop - 1]))
            ++stop;
        auto by_imag = [](cd a, cd b) { return std::fabs(a.imag()) < std::fabs(b.imag()); };
        std::stable_sort(zp.begin() + start, zp.begin() + stop, by_imag);
        std::stable_sort(zn.begin() + start, zn.begin() + stop, by_imag);
        start = stop;
    }
    CVec out;
    for (std::size_t i = 0; i < zp.size(); ++i)
        out.push_back(cdiv(zp[i] + std::conj(zn[i]), cd(2.0, 0.0)));
    out.insert(out.end(), reals.begin(), reals.end());
    return out;
}

// np.poly of at most two roots, as real coefficients [1, c1, c2] (leading ones kept).
std::vector<double> poly(const CVec& roots) {
    if (roots.empty()) return {1.0};
    if (roots.size() == 1) return {1.0, -roots[0].real()};
    const cd r0 = -roots[0], r1 = -roots[1];
    return {1.0, (r0 + r1).real(), cmul(r0, r1).real()};
}

Section single_zpksos(const CVec& z, const CVec& p) {
    Section s{0, 0, 0, 0, 0, 0};
    const auto b = poly(z), a = poly(p);
    std::copy(b.begin(), b.end(), s.begin() + (3 - static_cast<long>(b.size())));
    std::copy(a.begin(), a.end(), s.begin() + (6 - static_cast<long>(a.size())));
    return s;
}

std::size_t idx_worst(const CVec& p) {  // pole closest to the unit circle (first on ties)
    std::size_t best = 0;
    for (std::size_t i = 1; i < p.size(); ++i)
        if (std::fabs(1.0 - std::abs(p[i])) < std::fabs(1.0 - std::abs(p[best]))) best = i;
    return best;
}

enum class Which { real, complex, any };

std::size_t nearest_idx(const CVec& from, cd to, Which which) {
    std::vector<std::size_t> order(from.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::vector<double> dist(from.size());
    for (std::size_t i = 0; i < from.size(); ++i) dist[i] = std::abs(from[i] - to);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return dist[a] < dist[b]; });
    for (std::size_t i : order) {
        if (which == Which::any || (which == Which::real) == is_real(from[i])) return i;
    }
    throw std::invalid_argument("zpk2sos: no zero of the requested kind");
}

cd take(CVec& v, std::size_t i) {
    const cd out = v[i];
    v.erase(v.begin() + static_cast<long>(i));
    return out;
}

std::size_t count_real(const CVec& v) {
    return static_cast<std::size_t>(std::count_if(v.begin(), v.end(), is_real));
}

// scipy.signal.zpk2sos(z, p, k) for a digital filter with pairing="nearest".
SosMatrix zpk2sos(CVec z, CVec p, double k) {
    if (p.size() < z.size()) p.resize(z.size(), cd(0.0, 0.0));
    if (z.size() < p.size()) z.resize(p.size(), cd(0.0, 0.0));
    const std::size_t n_sections = (p.size() + 1) / 2;
    if (p.size() % 2 == 1) {
        p.emplace_back(0.0, 0.0);
        z.emplace_back(0.0, 0.0);
    }
    z = cplxreal(z);
    p = cplxreal(p);
    SosMatrix sos(n_sections);
    for (std::size_t si = n_sections; si-- > 0;) {
        const cd p1 = take(p, idx_worst(p));
        if (is_real(p1) && count_real(p) == 0) {
            const cd z1 = take(z, nearest_idx(z, p1, Which::real));
            sos[si] = single_zpksos({z1, cd(0.0, 0.0)}, {p1, cd(0.0, 0.0)});
        } else if (p.size() + 1 == z.size() && !is_real(p1) && count_real(p) == 1 && count_real(z) == 1) {
            const cd z1 = take(z, nearest_idx(z, p1, Which::complex));
            sos[si] = single_zpksos({z1, std::conj(z1)}, {p1, std::conj(p1)});
        } else {
            cd p2;
            if (is_real(p1)) {
                CVec reals;
                std::vector<std::size_t> where;
                for (std::size_t i = 0; i < p.size(); ++i)
                    if (is_real(p[i])) { reals.push_back(p[i]); where.push_back(i); }
                p2 = take(p, where[idx_worst(reals)]);
            } else {
                p2 = std::conj(p1);
            }
            if (!z.empty()) {
                const cd z1 = take(z, nearest_idx(z, p1, Which::any));
                if (!is_real(z1)) {
                    sos[si] = single_zpksos({z1, std::conj(z1)}, {p1, p2});
                } else if (!z.empty()) {
                    const cd z2 = take(z, nearest_idx(z, p1, Which::real));
                    sos[si] = single_zpksos({z1, z2}, {p1, p2});
                } else {
                    sos[si] = single_zpksos({z1}, {p1, p2});
                }
            } else {
                sos[si] = single_zpksos({}, {p1, p2});
            }
        }
    }
    for (int j = 0; j < 3; ++j) sos[0][j] *= k;
    return sos;
}

void check_cutoff(const char* name, double f, double fs) {
    if (!(f > 0.0) || !(f < fs / 2.0))
        throw std::invalid_argument(std::string("butter_sos: ") + name + " must be in (0, fs/2), got " +
                                    std::to_string(f));
}

}  // namespace

SosMatrix butter_sos(int order, double low, double high, double fs, BandType type) {
    if (order < 1 || order > 20) throw std::invalid_argument("butter_sos: order must be in [1, 20]");
    if (!(fs > 0.0) || !std::isfinite(fs)) throw std::invalid_argument("butter_sos: fs must be > 0");
    if (type != BandType::lowpass) check_cutoff("low", low, fs);
    if (type != BandType::highpass) check_cutoff("high", high, fs);
    if (type == BandType::bandpass && !(low < high))
        throw std::invalid_argument("butter_sos: low must be < high");
    const int N = order;
    // buttap: p = -exp(1j * pi * m / (2N)), m = -N+1, -N+3, ..., N-1 (NumPy divides by 2N
    // through the reciprocal, see cdiv).
    CVec p;
    const double inv2n = 1.0 / (2.0 * N);
    for (int mi = -N + 1; mi < N; mi += 2) {
        const double theta = (kPi * static_cast<double>(mi)) * inv2n;
        p.push_back(-std::exp(cd(0.0, theta)));
    }
    CVec z;
    double k = 1.0;
    auto warp = [fs](double f) { return 2.0 * 2.0 * std::tan(kPi * (f / (fs / 2.0)) / 2.0); };
    if (type == BandType::lowpass) {
        const double wo = warp(high);
        for (auto& v : p) v = cd(wo * v.real(), wo * v.imag());
        k = std::pow(wo, static_cast<double>(N));
    } else if (type == BandType::highpass) {
        const double wo = warp(low);
        CVec minus_p;
        for (auto& v : p) minus_p.push_back(-v);
        k = cdiv(cd(1.0, 0.0), cprod(minus_p)).real();
        for (auto& v : p) v = cdiv(cd(wo, 0.0), v);
        z.assign(static_cast<std::size_t>(N), cd(0.0, 0.0));
    } else {
        const double w0 = warp(low), w1 = warp(high);
        const double bw = w1 - w0, wo = std::sqrt(w0 * w1);
        CVec pbp_plus, pbp_minus;
        for (cd v : p) {
            const cd plp(v.real() * bw * 0.5, v.imag() * bw * 0.5);
            const cd sq = cmul(plp, plp);
            const cd root = std::sqrt(cd(sq.real() - wo * wo, sq.imag()));
            pbp_plus.push_back(plp + root);
            pbp_minus.push_back(plp - root);
        }
        p = pbp_plus;
        p.insert(p.end(), pbp_minus.begin(), pbp_minus.end());
        z.assign(static_cast<std::size_t>(N), cd(0.0, 0.0));
        k = std::pow(bw, static_cast<double>(N));
    }
    // bilinear_zpk with fs = 2 (frequencies were pre-warped above).
    const double fs2 = 4.0;
    const std::size_t degree = p.size() - z.size();
    CVec num_z, num_p;
    for (auto& v : z) { num_z.push_back(cd(fs2 - v.real(), -v.imag())); v = cdiv(cd(fs2 + v.real(), v.imag()), num_z.back()); }
    for (auto& v : p) { num_p.push_back(cd(fs2 - v.real(), -v.imag())); v = cdiv(cd(fs2 + v.real(), v.imag()), num_p.back()); }
    z.insert(z.end(), degree, cd(-1.0, 0.0));
    k = k * cdiv(cprod(num_z), cprod(num_p)).real();
    return zpk2sos(z, p, k);
}

Section iirnotch_section(double freq, double quality, double fs) {
    if (!(fs > 0.0)) throw std::invalid_argument("iirnotch: fs must be > 0");
    if (!(quality > 0.0)) throw std::invalid_argument("iirnotch: quality must be > 0");
    double w0 = 2.0 * freq / fs;
    if (!(w0 > 0.0) || !(w0 < 1.0)) throw std::invalid_argument("iirnotch: freq must be in (0, fs/2)");
    double bw = w0 / quality;
    bw = bw * kPi;
    w0 = w0 * kPi;
    const double beta = std::tan(bw / 2.0);
    const double gain = 1.0 / (1.0 + beta);
    return {gain * 1.0, gain * (-2.0 * std::cos(w0)), gain * 1.0,
            1.0, -2.0 * gain * std::cos(w0), 2.0 * gain - 1.0};
}

std::vector<std::array<double, 2>> sosfilt_zi(const SosMatrix& sos) {
    std::vector<std::array<double, 2>> zi(sos.size());
    double scale = 1.0;
    for (std::size_t s = 0; s < sos.size(); ++s) {
        double b0 = sos[s][0], b1 = sos[s][1], b2 = sos[s][2];
        double a0 = sos[s][3], a1 = sos[s][4], a2 = sos[s][5];
        if (a0 != 1.0) { b0 /= a0; b1 /= a0; b2 /= a0; a1 /= a0; a2 /= a0; a0 = 1.0; }
        // lfilter_zi solves (I - companion(a).T) zi = b[1:] - a[1:] * b[0], i.e.
        // [[1 + a1, -1], [a2, 1]] zi = B, with LAPACK's dgesv. Reproduce its LU with partial
        // pivoting step by step (reciprocal pivot scaling, fused update of the right-hand
        // side, division in the back substitution): this matches numpy.linalg.solve to the
        // bit, which matters for low cut-offs where the system is ill-conditioned.
        double m00 = 1.0 + a1, m01 = -1.0, m10 = a2, m11 = 1.0;
        double r0 = b1 - a1 * b0, r1 = b2 - a2 * b0;
        if (std::fabs(m10) > std::fabs(m00)) {
            std::swap(m00, m10);
            std::swap(m01, m11);
            std::swap(r0, r1);
        }
        const double l = m10 * (1.0 / m00);
        const double u11 = m11 - l * m01;
        const double y1 = std::fma(-l, r0, r1);
        const double z1 = y1 / u11;
        const double z0 = (r0 - m01 * z1) / m00;
        zi[s] = {scale * z0, scale * z1};
        scale *= (sos[s][0] + sos[s][1] + sos[s][2]) / (sos[s][3] + sos[s][4] + sos[s][5]);
    }
    return zi;
}

std::ptrdiff_t sosfiltfilt_padlen(const SosMatrix& sos) {
    std::ptrdiff_t zb = 0, za = 0;
    for (const auto& s : sos) {
        zb += s[2] == 0.0;
        za += s[5] == 0.0;
    }
    const auto n = static_cast<std::ptrdiff_t>(sos.size());
    return 3 * (2 * n + 1 - std::min(zb, za));
}

}  // namespace fgclep
