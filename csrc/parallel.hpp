// Thread-count setting and a parallel-for over independent rows (records x leads).
#pragma once
#include <cstddef>
#include <functional>

namespace fgclep {

void set_num_threads(int n);
int get_num_threads();

// Calls body(i) for i in [0, n) on up to get_num_threads() threads. body must not throw.
void parallel_for(std::ptrdiff_t n, const std::function<void(std::ptrdiff_t)>& body);

}  // namespace fgclep
