// Running medians in rank space. Each row is sorted once (radix sort of order-preserving
// integer keys); samples are replaced by their ranks 0..n-1 (ties broken by index, so the
// median rank maps back to the exact median value). A window is then a multiset of ranks kept
// as counts plus a bitmap of the ranks present, and the median rank m is tracked with
// `below` = number of window elements of rank < m: each step removes one rank and adds one,
// which moves m by a few present ranks, found with bit scans. A step is O(1) amortised with no
// comparisons of sample values; the second stage runs on the first stage's output ranks.
#include "median.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "parallel.hpp"

namespace fgclep {
namespace {

// Index of virtual sample k (any integer) under "reflect" extension of a length-n row.
inline std::ptrdiff_t reflect(std::ptrdiff_t k, std::ptrdiff_t n) {
    const std::ptrdiff_t period = 2 * n;
    std::ptrdiff_t m = k % period;
    if (m < 0) m += period;
    return m < n ? m : period - 1 - m;
}

// Order-preserving unsigned keys for IEEE floats (finite values; -0 sorts before +0, which
// does not change any median's value).
inline std::uint64_t order_key(float v) {
    std::uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// Sort the row's indices by value (stable), writing sorted values and ranks.
template <class T>
void rank_row(const T* x, std::ptrdiff_t n, MedianScratch<T>& s) {
    s.sorted.resize(static_cast<std::size_t>(n));
    s.rank.resize(static_cast<std::size_t>(n));
    s.keys.resize(static_cast<std::size_t>(n));
    s.keys_tmp.resize(static_cast<std::size_t>(n));
    std::uint64_t* src = s.keys.data();
    if constexpr (sizeof(T) == 4) {
        // LSD radix sort of (key << 32 | index) on the key's four bytes; the histograms of all
        // four digits are gathered in one pass.
        std::uint32_t hist[4][257] = {};
        for (std::ptrdiff_t i = 0; i < n; ++i) {
            const std::uint64_t k = order_key(x[i]);
            src[i] = (k << 32) | static_cast<std::uint64_t>(i);
            for (int d = 0; d < 4; ++d) ++hist[d][((k >> (8 * d)) & 0xFF) + 1];
        }
        std::uint64_t* dst = s.keys_tmp.data();
        for (int d = 0; d < 4; ++d) {
            std::uint32_t* h = hist[d];
            const int shift = 32 + 8 * d;
            if (h[((src[0] >> shift) & 0xFF) + 1] == static_cast<std::uint32_t>(n)) continue;  // one bucket: no-op
            for (int b = 0; b < 256; ++b) h[b + 1] += h[b];
            for (std::ptrdiff_t i = 0; i < n; ++i) dst[h[(src[i] >> shift) & 0xFF]++] = src[i];
            std::swap(src, dst);
        }
    } else {
        for (std::ptrdiff_t i = 0; i < n; ++i) src[i] = static_cast<std::uint64_t>(i);
        std::stable_sort(src, src + n, [x](std::uint64_t a, std::uint64_t b) { return x[a] < x[b]; });
    }
    for (std::ptrdiff_t r = 0; r < n; ++r) {
        const auto i = static_cast<std::ptrdiff_t>(src[r] & 0xFFFFFFFFu);
        s.sorted[static_cast<std::size_t>(r)] = x[i];
        s.rank[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(r);
    }
}

// Multiset of ranks in [0, n) with the median rank tracked incrementally.
class RankWindow {
public:
    RankWindow(std::int32_t* count, std::uint64_t* present, std::ptrdiff_t n, std::ptrdiff_t h)
        : count_(count), present_(present), words_((n + 63) / 64), h_(h) {
        std::fill(count_, count_ + n, 0);
        std::fill(present_, present_ + words_, std::uint64_t{0});
    }
    void add(std::int32_t r) {
        if (count_[r]++ == 0) present_[r >> 6] |= std::uint64_t{1} << (r & 63);
        below_ += r < m_;
    }
    void remove(std::int32_t r) {
        if (--count_[r] == 0) present_[r >> 6] &= ~(std::uint64_t{1} << (r & 63));
        below_ -= r < m_;
    }
    // Median rank: the m with below <= h < below + count[m].
    std::int32_t median() {
        while (below_ + count_[m_] <= h_) {
            below_ += count_[m_];
            m_ = next_present(m_);
        }
        while (below_ > h_) {
            m_ = prev_present(m_);
            below_ -= count_[m_];
        }
        return m_;
    }

private:
    std::int32_t next_present(std::int32_t m) const {  // exists: the window holds > h elements
        std::ptrdiff_t word = (m + 1) >> 6;
        std::uint64_t bits = ((m + 1) & 63) ? present_[word] & (~std::uint64_t{0} << ((m + 1) & 63)) : present_[word];
        while (bits == 0) bits = present_[++word];
        return static_cast<std::int32_t>(word * 64 + __builtin_ctzll(bits));
    }
    std::int32_t prev_present(std::int32_t m) const {  // exists: `below` > 0
        std::ptrdiff_t word = (m - 1) >> 6;
        const int bit = (m - 1) & 63;
        std::uint64_t bits = bit == 63 ? present_[word] : present_[word] & ((std::uint64_t{1} << (bit + 1)) - 1);
        while (bits == 0) bits = present_[--word];
        return static_cast<std::int32_t>(word * 64 + 63 - __builtin_clzll(bits));
    }
    std::int32_t* count_;
    std::uint64_t* present_;
    std::ptrdiff_t words_;
    std::ptrdiff_t h_;
    std::ptrdiff_t below_ = 0;
    std::int32_t m_ = 0;
};

// out[i] = median rank of in[reflect(i - h .. i + h)]; ranks are in [0, n).
template <class T>
void median_ranks(const std::int32_t* in, std::int32_t* out, std::ptrdiff_t n, std::ptrdiff_t w, MedianScratch<T>& s) {
    const std::ptrdiff_t h = w / 2;
    s.count.resize(static_cast<std::size_t>(n));
    s.present.resize(static_cast<std::size_t>((n + 63) / 64 + 1));
    RankWindow win(s.count.data(), s.present.data(), n, h);
    for (std::ptrdiff_t k = -h; k <= h; ++k) win.add(in[reflect(k, n)]);
    out[0] = win.median();
    for (std::ptrdiff_t i = 1; i < n; ++i) {
        const std::ptrdiff_t k_out = i - 1 - h, k_in = i + h;
        win.remove(in[k_out >= 0 ? k_out : reflect(k_out, n)]);
        win.add(in[k_in < n ? k_in : reflect(k_in, n)]);
        out[i] = win.median();
    }
}

void atomic_min(std::atomic<std::ptrdiff_t>& target, std::ptrdiff_t value) {
    std::ptrdiff_t cur = target.load();
    while ((cur < 0 || value < cur) && !target.compare_exchange_weak(cur, value)) {
    }
}

void check_window(std::ptrdiff_t w) {
    if (w < 1 || w % 2 == 0) throw std::invalid_argument("running median: window must be odd and >= 1");
}

}  // namespace

template <class T>
void running_median(const T* x, T* out, std::ptrdiff_t n, std::ptrdiff_t w, MedianScratch<T>& s) {
    check_window(w);
    if (n < 1) return;
    if (n > INT32_MAX / 2) throw std::invalid_argument("running median: row too long");
    rank_row(x, n, s);
    s.stage1.resize(static_cast<std::size_t>(n));
    median_ranks(s.rank.data(), s.stage1.data(), n, w, s);
    for (std::ptrdiff_t i = 0; i < n; ++i) out[i] = s.sorted[static_cast<std::size_t>(s.stage1[static_cast<std::size_t>(i)])];
}

template <class T>
std::ptrdiff_t median_baseline_rows(const T* x, T* y, std::ptrdiff_t rows, std::ptrdiff_t n, std::ptrdiff_t w1,
                                    std::ptrdiff_t w2) {
    check_window(w1);
    check_window(w2);
    if (n > INT32_MAX / 2) throw std::invalid_argument("median_baseline_rows: rows too long");
    std::atomic<std::ptrdiff_t> first_bad{-1};
    auto baseline_row = [&](std::ptrdiff_t r) {
        thread_local MedianScratch<T> s;
        const T* xr = x + r * n;
        T* yr = y + r * n;
        double acc = 0.0;
        for (std::ptrdiff_t i = 0; i < n; ++i) acc += static_cast<double>(xr[i]) - static_cast<double>(xr[i]);
        if (std::isnan(acc)) {
            atomic_min(first_bad, r);
            std::fill(yr, yr + n, T(0));
            return;
        }
        rank_row(xr, n, s);
        s.stage1.resize(static_cast<std::size_t>(n));
        s.stage2.resize(static_cast<std::size_t>(n));
        median_ranks(s.rank.data(), s.stage1.data(), n, w1, s);
        median_ranks(s.stage1.data(), s.stage2.data(), n, w2, s);
        for (std::ptrdiff_t i = 0; i < n; ++i)
            yr[i] = static_cast<T>(xr[i] - s.sorted[static_cast<std::size_t>(s.stage2[static_cast<std::size_t>(i)])]);
    };
    // Tiny jobs run on the calling thread: starting threads would cost more than they save.
    if (rows * n < 20000) {
        for (std::ptrdiff_t r = 0; r < rows; ++r) baseline_row(r);
    } else {
        parallel_for(rows, baseline_row);
    }
    return first_bad.load();
}

template void running_median<float>(const float*, float*, std::ptrdiff_t, std::ptrdiff_t, MedianScratch<float>&);
template void running_median<double>(const double*, double*, std::ptrdiff_t, std::ptrdiff_t, MedianScratch<double>&);
template std::ptrdiff_t median_baseline_rows<float>(const float*, float*, std::ptrdiff_t, std::ptrdiff_t,
                                                    std::ptrdiff_t, std::ptrdiff_t);
template std::ptrdiff_t median_baseline_rows<double>(const double*, double*, std::ptrdiff_t, std::ptrdiff_t,
                                                     std::ptrdiff_t, std::ptrdiff_t);

}  // namespace fgclep
