// The only file that knows Python: converts and checks arrays, releases the GIL, calls plain C++.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "parallel.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
    m.doc() = "fgclep C++ core: filtering, resampling, R-peak detection, delineation, measurements";
#ifdef FGCLEP_VERSION_INFO
    m.attr("__version__") = FGCLEP_VERSION_INFO;
#endif
    m.def("set_num_threads", &fgclep::set_num_threads, py::arg("n"),
          "Set the number of threads used by parallel loops (>= 1).");
    m.def("get_num_threads", &fgclep::get_num_threads);

    // ---- filtering (issue 2): register below ----

    // ---- delineation and measurements (issue 3): register below ----
}
