// The only file that knows Python: converts and checks arrays, releases the GIL, calls plain C++.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <optional>
#include <string>

#include "filters.hpp"
#include "median.hpp"
#include "resample.hpp"
#include "parallel.hpp"
#include "measure.hpp"
#include "pacing.hpp"
#include "peaks.hpp"

namespace py = pybind11;

// ---- filtering (issue 2): helpers ----
namespace filtering {

template <class T>
using CArray = py::array_t<T, py::array::c_style>;

fgclep::SosMatrix to_sos(const py::array_t<double, py::array::c_style | py::array::forcecast>& a) {
    if (a.ndim() != 2 || a.shape(1) != 6) throw py::value_error("sos must have shape (n_sections, 6)");
    fgclep::SosMatrix sos(static_cast<std::size_t>(a.shape(0)));
    for (std::size_t i = 0; i < sos.size(); ++i)
        for (std::size_t j = 0; j < 6; ++j) sos[i][j] = a.at(static_cast<py::ssize_t>(i), static_cast<py::ssize_t>(j));
    return sos;
}

py::array_t<double> from_sos(const fgclep::SosMatrix& sos) {
    py::array_t<double> out({static_cast<py::ssize_t>(sos.size()), py::ssize_t{6}});
    auto v = out.mutable_unchecked<2>();
    for (std::size_t i = 0; i < sos.size(); ++i)
        for (std::size_t j = 0; j < 6; ++j) v(static_cast<py::ssize_t>(i), static_cast<py::ssize_t>(j)) = sos[i][j];
    return out;
}

void check_rows(const py::array& x, const char* fn) {
    if (x.ndim() != 2) throw py::value_error(std::string(fn) + ": expected a 2-D (rows, samples) array");
}

py::array_t<double> butter(int order, std::optional<double> low, std::optional<double> high, double fs) {
    if (!low && !high) throw py::value_error("butter_sos: low and high cannot both be None");
    const auto type = !low ? fgclep::BandType::lowpass : !high ? fgclep::BandType::highpass : fgclep::BandType::bandpass;
    return from_sos(fgclep::butter_sos(order, low.value_or(0.0), high.value_or(0.0), fs, type));
}

// Returns (filtered rows, index of the first row with a NaN/inf or -1). With inplace=True the
// result overwrites x (which must be writeable) and x itself is returned.
template <class T>
py::tuple sosfiltfilt(CArray<T> x, const py::array_t<double, py::array::c_style | py::array::forcecast>& sos_arr,
                      bool inplace) {
    check_rows(x, "sosfiltfilt");
    const auto sos = to_sos(sos_arr);
    const py::ssize_t rows = x.shape(0), n = x.shape(1);
    if (inplace && !x.writeable()) throw py::value_error("sosfiltfilt: inplace needs a writeable array");
    CArray<T> out = inplace ? x : CArray<T>({rows, n});
    std::ptrdiff_t bad = -1;
    {
        py::gil_scoped_release release;
        bad = fgclep::sosfiltfilt_rows(x.data(), out.mutable_data(), rows, n, sos);
    }
    return py::make_tuple(out, bad);
}

template <class T>
py::tuple median_baseline(const CArray<T>& x, std::ptrdiff_t w1, std::ptrdiff_t w2) {
    check_rows(x, "median_baseline");
    if (w1 < 1 || w2 < 1 || w1 % 2 == 0 || w2 % 2 == 0) throw py::value_error("median_baseline: windows must be odd and >= 1");
    const py::ssize_t rows = x.shape(0), n = x.shape(1);
    CArray<T> out({rows, n});
    std::ptrdiff_t bad = -1;
    {
        py::gil_scoped_release release;
        bad = fgclep::median_baseline_rows(x.data(), out.mutable_data(), rows, n, w1, w2);
    }
    return py::make_tuple(out, bad);
}

template <class T>
py::tuple resample_poly(const CArray<T>& x, std::ptrdiff_t up, std::ptrdiff_t down) {
    check_rows(x, "resample_poly");
    if (up < 1 || down < 1) throw py::value_error("resample_poly: up and down must be >= 1");
    const py::ssize_t rows = x.shape(0), n = x.shape(1);
    CArray<T> out({rows, static_cast<py::ssize_t>(fgclep::resample_poly_length(n, up, down))});
    std::ptrdiff_t bad = -1;
    {
        py::gil_scoped_release release;
        bad = fgclep::resample_poly_rows(x.data(), out.mutable_data(), rows, n, up, down);
    }
    return py::make_tuple(out, bad);
}

void register_all(py::module_& m) {
    m.def("median_baseline", &median_baseline<float>, py::arg("x"), py::arg("w1"), py::arg("w2"));
    m.def("median_baseline", &median_baseline<double>, py::arg("x"), py::arg("w1"), py::arg("w2"),
          "(x - median_w2(median_w1(x)), first non-finite row or -1); reflect edges.");
    m.def("resample_poly", &resample_poly<float>, py::arg("x"), py::arg("up"), py::arg("down"));
    m.def("resample_poly", &resample_poly<double>, py::arg("x"), py::arg("up"), py::arg("down"),
          "(scipy.signal.resample_poly(x, up, down, axis=-1), first non-finite row or -1).");
    m.def("firwin_kaiser", &fgclep::firwin_kaiser, py::arg("numtaps"), py::arg("cutoff"), py::arg("beta"));
    m.def("bessel_i0", &fgclep::bessel_i0, py::arg("x"));
    m.def("butter_sos", &butter, py::arg("order"), py::arg("low"), py::arg("high"), py::arg("fs"),
          "scipy.signal.butter(order, ..., fs=fs, output='sos'); low=None: low-pass, high=None: high-pass.");
    m.def("iirnotch_sos", [](double f, double q, double fs) { return from_sos({fgclep::iirnotch_section(f, q, fs)}); },
          py::arg("freq"), py::arg("quality"), py::arg("fs"), "scipy.signal.iirnotch as one (1, 6) section.");
    m.def("sosfilt_zi", [](const py::array_t<double, py::array::c_style | py::array::forcecast>& s) {
        const auto zi = fgclep::sosfilt_zi(to_sos(s));
        py::array_t<double> out({static_cast<py::ssize_t>(zi.size()), py::ssize_t{2}});
        auto v = out.mutable_unchecked<2>();
        for (std::size_t i = 0; i < zi.size(); ++i) { v(static_cast<py::ssize_t>(i), 0) = zi[i][0]; v(static_cast<py::ssize_t>(i), 1) = zi[i][1]; }
        return out;
    }, py::arg("sos"));
    m.def("sosfiltfilt_padlen", [](const py::array_t<double, py::array::c_style | py::array::forcecast>& s) {
        return fgclep::sosfiltfilt_padlen(to_sos(s)); }, py::arg("sos"));
    m.def("sosfiltfilt", &sosfiltfilt<float>, py::arg("x"), py::arg("sos"), py::arg("inplace") = false);
    m.def("sosfiltfilt", &sosfiltfilt<double>, py::arg("x"), py::arg("sos"), py::arg("inplace") = false);
    m.def("filter_kernel_name", &fgclep::filter_kernel_name);
    m.def("set_filter_simd", &fgclep::set_filter_simd, py::arg("enabled"));
}

}  // namespace filtering

PYBIND11_MODULE(_core, m) {
    m.doc() = "fgclep C++ core: filtering, resampling, R-peak detection, delineation, measurements";
#ifdef FGCLEP_VERSION_INFO
    m.attr("__version__") = FGCLEP_VERSION_INFO;
#endif
    m.def("set_num_threads", &fgclep::set_num_threads, py::arg("n"),
          "Set the number of threads used by parallel loops (>= 1).");
    m.def("get_num_threads", &fgclep::get_num_threads);

    // ---- filtering (issue 2): register below ----
    filtering::register_all(m);

    // ---- delineation and measurements (issue 3): register below ----
    {
        namespace dl = fgclep::delin;
        using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;
        using I64 = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
        using I32 = py::array_t<int, py::array::c_style | py::array::forcecast>;
        auto check = [](const F64& x, py::ssize_t ndim, double fs, const char* fn) {
            if (x.ndim() != ndim || x.shape(ndim - 1) < 1 || x.shape(ndim - 2) < 1)
                throw py::value_error(std::string(fn) + ": signal must be a non-empty " + std::to_string(ndim) + "-d array");
            if (!(fs > 0.0)) throw py::value_error(std::string(fn) + ": sampling_rate must be > 0");
        };
        auto std_index = [](const I32& s) {
            if (s.ndim() != 1 || s.shape(0) != dl::kStdLeads) throw py::value_error("std_index must have 12 entries");
            return s.data();
        };
        auto conditioned = [](const F64& x, double fs) {
            const int nl = static_cast<int>(x.shape(0));
            const py::ssize_t n = x.shape(1);
            std::vector<double> c(static_cast<std::size_t>(nl * n));
            for (int l = 0; l < nl; ++l) dl::condition_lead(x.data() + l * n, n, fs, c.data() + l * n);
            return c;
        };
        m.def("delin_condition", [=](const F64& x, double fs) {
            check(x, 2, fs, "delin_condition");
            F64 out({x.shape(0), x.shape(1)});
            py::gil_scoped_release nogil;
            const auto c = conditioned(x, fs);
            std::copy(c.begin(), c.end(), out.mutable_data());
            return out;
        }, py::arg("signal"), py::arg("fs"), "NaN-interpolated, 0.5-40 Hz zero-phase conditioned leads.");
        m.def("delin_peaks", [=](const F64& x, double fs) {
            check(x, 2, fs, "delin_peaks");
            std::vector<std::int64_t> r;
            {
                py::gil_scoped_release nogil;
                const auto c = conditioned(x, fs);
                r = dl::detect_r_peaks(c.data(), static_cast<int>(x.shape(0)), x.shape(1), fs);
            }
            return I64(static_cast<py::ssize_t>(r.size()), r.data());
        }, py::arg("signal"), py::arg("fs"), "R peaks of a raw (leads, samples) record.");
        m.def("delin_pacing_spikes", [=](const F64& x, double fs) {
            check(x, 2, fs, "delin_pacing_spikes");
            std::vector<std::int64_t> r, spikes;
            {
                py::gil_scoped_release nogil;
                const auto c = conditioned(x, fs);
                const int nl = static_cast<int>(x.shape(0));
                r = dl::detect_r_peaks(c.data(), nl, x.shape(1), fs);
                spikes = dl::detect_pacing_spikes(x.data(), nl, x.shape(1), fs, r);
            }
            return py::make_tuple(I64(static_cast<py::ssize_t>(r.size()), r.data()),
                                  I64(static_cast<py::ssize_t>(spikes.size()), spikes.data()));
        }, py::arg("signal"), py::arg("fs"), "R peaks and, per beat, the pacing stimulus sample or -1.");
        m.def("delin_delineate", [=](const F64& x, double fs) {
            check(x, 2, fs, "delin_delineate");
            dl::Fiducials f;
            {
                py::gil_scoped_release nogil;
                const auto c = conditioned(x, fs);
                const int nl = static_cast<int>(x.shape(0));
                const auto r = dl::detect_r_peaks(c.data(), nl, x.shape(1), fs);
                f = dl::delineate(c.data(), nl, x.shape(1), fs, r, dl::detect_pacing_spikes(x.data(), nl, x.shape(1), fs, r));
            }
            I64 lead({py::ssize_t(dl::N_FID), py::ssize_t(f.n_leads), py::ssize_t(f.n_beats)}, f.lead.data());
            I64 glob({py::ssize_t(dl::N_FID), py::ssize_t(f.n_beats)}, f.glob.data());
            return py::make_tuple(lead, glob);
        }, py::arg("signal"), py::arg("fs"), "Per-lead (8, leads, beats) and global (8, beats) fiducials.");
        m.def("delin_measure_batch", [=](const F64& x, double fs, const I32& idx) {
            check(x, 3, fs, "delin_measure_batch");
            const int* si = std_index(idx);
            F64 out({x.shape(0), py::ssize_t(dl::kMeasures)});
            double* o = out.mutable_data();
            py::gil_scoped_release nogil;
            dl::analyze_batch(x.data(), x.shape(0), static_cast<int>(x.shape(1)), x.shape(2), fs, si, o);
            return out;
        }, py::arg("signal"), py::arg("fs"), py::arg("std_index"), "Measurements of (records, leads, samples).");
        m.def("delin_analyze", [=](const F64& x, double fs, const I32& idx) {
            check(x, 2, fs, "delin_analyze");
            const int* si = std_index(idx);
            F64 out(py::ssize_t(dl::kMeasures));
            double* o = out.mutable_data();
            dl::Fiducials f;
            {
                py::gil_scoped_release nogil;
                std::vector<double> c(static_cast<std::size_t>(x.size()));
                f = dl::analyze(x.data(), static_cast<int>(x.shape(0)), x.shape(1), fs, si, c.data(), o);
            }
            I64 lead({py::ssize_t(dl::N_FID), py::ssize_t(f.n_leads), py::ssize_t(f.n_beats)}, f.lead.data());
            I64 glob({py::ssize_t(dl::N_FID), py::ssize_t(f.n_beats)}, f.glob.data());
            return py::make_tuple(lead, glob, out);
        }, py::arg("signal"), py::arg("fs"), py::arg("std_index"), "Fiducials and measurements of one record.");
        m.def("delin_measure_fiducials", [=](const F64& x, double fs, const I64& fid, const I32& idx) {
            check(x, 2, fs, "delin_measure_fiducials");
            const int* si = std_index(idx);
            if (fid.ndim() != 3 || fid.shape(0) != dl::N_FID || fid.shape(1) != x.shape(0))
                throw py::value_error("delin_measure_fiducials: fiducials must have shape (8, leads, beats)");
            F64 out(py::ssize_t(dl::kMeasures));
            double* o = out.mutable_data();
            py::gil_scoped_release nogil;
            dl::Fiducials f;
            f.resize(static_cast<int>(fid.shape(1)), static_cast<int>(fid.shape(2)));
            std::copy(fid.data(), fid.data() + fid.size(), f.lead.begin());
            dl::combine_leads(f, fs);
            const auto c = conditioned(x, fs);
            dl::measure(c.data(), f.n_leads, x.shape(1), fs, f, si, o);
            std::vector<std::int64_t> r(f.glob.begin() + static_cast<std::ptrdiff_t>(dl::R_PEAK) * f.n_beats,
                                        f.glob.begin() + static_cast<std::ptrdiff_t>(dl::R_PEAK + 1) * f.n_beats);
            r.erase(std::remove(r.begin(), r.end(), std::int64_t{-1}), r.end());
            dl::set_paced_fraction(dl::detect_pacing_spikes(x.data(), f.n_leads, x.shape(1), fs, r), fs, o);
            return out;
        }, py::arg("signal"), py::arg("fs"), py::arg("fiducials"), py::arg("std_index"),
           "Measurements from given per-lead fiducials.");
    }
}
