#include "parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

namespace fgclep {
namespace {

int default_threads() {
    if (const char* env = std::getenv("FGCLEP_NUM_THREADS")) {
        const int v = std::atoi(env);
        if (v >= 1) return v;
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(hw);
}

std::atomic<int>& thread_setting() {
    static std::atomic<int> n{default_threads()};
    return n;
}

}  // namespace

void set_num_threads(int n) { thread_setting().store(n < 1 ? 1 : n); }

int get_num_threads() { return thread_setting().load(); }

void parallel_for(std::ptrdiff_t n, const std::function<void(std::ptrdiff_t)>& body) {
    if (n <= 0) return;
    const std::ptrdiff_t threads =
        std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(get_num_threads()), n);
    if (threads <= 1) {
        for (std::ptrdiff_t i = 0; i < n; ++i) body(i);
        return;
    }
    // Dynamic scheduling through a shared counter: rows can differ in cost (NaN runs, lengths).
    std::atomic<std::ptrdiff_t> next{0};
    auto worker = [&]() {
        for (std::ptrdiff_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) body(i);
    };
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(threads - 1));
    for (std::ptrdiff_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& th : pool) th.join();
}

}  // namespace fgclep
