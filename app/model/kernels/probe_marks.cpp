// The per-layer probe's marks inside a compiled decode step (app/runtime/probe.py).
//
// A mark between two kernels of the step records the time with its layer and point, and
// returns a copy of its input: what follows reads the copy, so the compiler can neither run
// the mark before the work that made its input nor move later work in front of it. The
// probe takes the step's records once the step is done. Recording here, not by calling back
// into Python, spares each of a step's 2L + 2 marks the trip through the interpreter.
//
// The clock is CLOCK_MONOTONIC, the one Python's time.perf_counter reads on Linux (these
// kernels are built for Linux only), so a mark made here and one made in Python (the
// sampling, after the step) measure one interval.
#include <ATen/ATen.h>
#include <torch/library.h>

#include <cstring>
#include <ctime>
#include <vector>

namespace {

struct Mark {
  double layer, point, seconds;
};

// One list per thread: a step runs on the thread that calls it.
thread_local std::vector<Mark> recorded;

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

at::Tensor probe_mark(const at::Tensor& x, int64_t layer, int64_t point) {
  recorded.push_back({static_cast<double>(layer), static_cast<double>(point), now()});
  if (!x.is_contiguous()) return x.clone();
  // a contiguous copy by hand: clone dispatches three ops, and a step makes 2L + 2 marks
  at::Tensor copy = at::empty(x.sizes(), x.options());
  std::memcpy(copy.data_ptr(), x.data_ptr(), x.nbytes());
  return copy;
}

// The marks recorded on this thread since the last take, [n, 3] float64 rows of (layer,
// point, seconds) in the order they were made; the list starts empty again.
at::Tensor probe_take_marks() {
  const int64_t n = static_cast<int64_t>(recorded.size());
  at::Tensor out = at::empty({n, 3}, at::kDouble);
  double* data = out.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) {
    data[3 * i] = recorded[i].layer;
    data[3 * i + 1] = recorded[i].point;
    data[3 * i + 2] = recorded[i].seconds;
  }
  recorded.clear();
  return out;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(archscope_kernels, m) {
  m.def("probe_mark(Tensor x, int layer, int point) -> Tensor");
  m.def("probe_take_marks() -> Tensor", &probe_take_marks);  // no tensor to dispatch on: one kernel for all
}

TORCH_LIBRARY_IMPL(archscope_kernels, CPU, m) { m.impl("probe_mark", &probe_mark); }
