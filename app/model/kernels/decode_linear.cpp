// A decode step's products with float32 or bfloat16 weights on an x86 CPU with AVX2:
// y = x W^T + b for the one row (or the few rows) of activations a decode step has.
//
// Such a product streams the whole matrix from memory once and does two FLOPs per weight,
// so its speed is the speed the matrix is read at. torch's CPU BLAS reads the small
// matrices of a small model well below that (a 576 x 1536 float32 matrix at 12 GB/s against
// 21 GB/s for a large one on a 2-core EPYC), and bfloat16 ones slower still. Both layouts
// the model keeps (app/model/packing.py) are read as one contiguous stream per thread:
//   - row-major [N, K] (bfloat16 on the CPU): each thread takes whole rows, four at a time,
//     and sums their products with x (the layout of app/model/kernels/lowbit.cpp);
//   - input-major, [K, N] contiguous seen as [N, K] (float32): each thread takes a block of
//     the K input rows and adds x[k] times each row into a partial y of its own; the
//     partials are summed at the end. Splitting K rather than N keeps every thread's stream
//     contiguous: split by columns, a thread would read half of every row and the other half
//     would be prefetched for nothing.
// Sums are in float32 whatever the weights; y comes back in x's dtype.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <torch/library.h>
#include <immintrin.h>

#include "avx2.h"

#include <cstdint>
#include <type_traits>
#include <vector>

namespace {

constexpr int64_t kMaxRows = 4;  // rows of x: a decode step's batch; larger is a prefill (torch's GEMM)

// Row-major: R rows of W (contiguous from `rows`, K apart) against the M rows of x. The next
// tile's rows are prefetched a share a step, since four streams side by side hide the access
// pattern from the hardware prefetcher (as in lowbit.cpp). M is a template argument: with
// the batch known only at run time the compiler kept the M x R accumulators in memory, and
// each step waited on a store and a load. One core of the 2-core EPYC, matrices in cache:
// float32 256 x 576 read at 27 GB/s before, 35-37 after; bfloat16 512 x 576 at 16-18 before
// and after this alone, 27 with the widening below.
template <typename W, int R, int M>
void dot_rows(const W* rows, const float* x, const float* x_pairs, int64_t K, bool prefetch,
              float* out /* [M][R] */) {
  __m256 acc[M][R];
  for (int m = 0; m < M; ++m)
    for (int r = 0; r < R; ++r) acc[m][r] = _mm256_setzero_ps();
  constexpr int64_t kStep = std::is_same_v<W, c10::BFloat16> ? 16 : 8;  // columns a turn
  const char* ahead = reinterpret_cast<const char*>(rows + R * K);
  const int64_t ahead_step = R * kStep * static_cast<int64_t>(sizeof(W));  // the next tile's bytes a turn
  int64_t k = 0;
  for (; k + kStep <= K; k += kStep) {
    if (prefetch) {
      for (int64_t line = 0; line < ahead_step; line += 64) _mm_prefetch(ahead + k / kStep * ahead_step + line, _MM_HINT_T0);
    }
    if constexpr (std::is_same_v<W, c10::BFloat16>) {
      // 16 bfloat16 weights as two float vectors without a lane shuffle: each 32-bit lane
      // holds an even column in its low half and the next odd one in its high half, so a
      // shift gives the even columns and a mask the odd ones; x_pairs holds x's 16 values in
      // that order (evens, then odds). Widening 8 at a time instead (vpmovzxwd) capped a
      // core at about 18 GB/s of weights, from cache.
      for (int r = 0; r < R; ++r) {
        const __m256i both = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + r * K + k));
        const __m256 even = _mm256_castsi256_ps(_mm256_slli_epi32(both, 16));
        const __m256 odd = _mm256_castsi256_ps(_mm256_and_si256(both, _mm256_set1_epi32(0xFFFF0000u)));
        for (int m = 0; m < M; ++m) {
          acc[m][r] = _mm256_fmadd_ps(even, _mm256_loadu_ps(x_pairs + m * K + k), acc[m][r]);
          acc[m][r] = _mm256_fmadd_ps(odd, _mm256_loadu_ps(x_pairs + m * K + k + 8), acc[m][r]);
        }
      }
    } else {
      __m256 w[R];
      for (int r = 0; r < R; ++r) w[r] = load8(rows + r * K + k);
      for (int m = 0; m < M; ++m) {
        const __m256 xv = _mm256_loadu_ps(x + m * K + k);
        for (int r = 0; r < R; ++r) acc[m][r] = _mm256_fmadd_ps(w[r], xv, acc[m][r]);
      }
    }
  }
  for (int m = 0; m < M; ++m) {
    for (int r = 0; r < R; ++r) {
      float sum = horizontal_sum(acc[m][r]);
      for (int64_t t = k; t < K; ++t) sum += load1(rows + r * K + t) * x[m * K + t];
      out[m * R + r] = sum;
    }
  }
}

// x's rows with each 16 values as dot_rows reads them against bfloat16 weights: the 8 at even
// columns, then the 8 at odd ones (a last block of fewer than 16 is left out: read from x).
inline const float* paired(const float* x, int64_t M, int64_t K) {
  thread_local std::vector<float> mine;
  mine.resize(M * K);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t k = 0; k + 16 <= K; k += 16) {
      for (int j = 0; j < 8; ++j) {
        mine[m * K + k + j] = x[m * K + k + 2 * j];
        mine[m * K + k + 8 + j] = x[m * K + k + 2 * j + 1];
      }
    }
  }
  return mine.data();
}

template <typename W, int M>
void row_major(const W* weight, const float* x, int64_t K, int64_t N, float* y) {
  constexpr int kRows = 4;
  const int64_t tiles = (N + kRows - 1) / kRows;
  // a task of about 32 KB of weights outweighs handing it to a thread
  const int64_t grain = std::max<int64_t>(1, 32768 / (K * static_cast<int64_t>(sizeof(W)) * kRows));
  const float* x_pairs = std::is_same_v<W, c10::BFloat16> ? paired(x, M, K) : x;
  at::parallel_for(0, tiles, grain, [&](int64_t first, int64_t last) {
    float out[M * kRows];
    for (int64_t tile = first; tile < last; ++tile) {
      const int64_t n = tile * kRows;
      if (n + kRows <= N) {
        dot_rows<W, kRows, M>(weight + n * K, x, x_pairs, K, tile + 1 < last, out);
        for (int m = 0; m < M; ++m)
          for (int r = 0; r < kRows; ++r) y[m * N + n + r] = out[m * kRows + r];
      } else {
        for (int64_t row = n; row < N; ++row) {
          dot_rows<W, 1, M>(weight + row * K, x, x_pairs, K, false, out);
          for (int m = 0; m < M; ++m) y[m * N + row] = out[m];
        }
      }
    }
  });
}

// Input-major: y[m] += x[m][k] * Wt[k] for the thread's block of k, P input rows a pass: one
// load and store of the partial y per P rows of weights, and P streams read side by side.
// Eight rows a pass rather than four: SmolLM2's float32 layer products 1.11-1.23x faster
// (out x in: 576 x 576 1.36x, 576 x 1536 1.27x; rows as long as a 3072 x 576 matrix's within
// 5% either way), measured side by side on the 2-core EPYC. Prefetching the rows 16 KB on gained
// nothing further; writing the leftover rows as a one-row pass of this loop (a template)
// made the whole 12% slower, so they stay a plain loop.
template <typename W>
void add_rows(const W* rows, const float* x, int64_t M, int64_t K, int64_t N, int64_t k_first, int64_t k_last,
              float* partial /* [M][N] */) {
  constexpr int P = 8;
  int64_t k = k_first;
  for (; k + P <= k_last; k += P) {
    const W* w = rows + k * N;
    for (int64_t m = 0; m < M; ++m) {
      __m256 xs[P];
      for (int r = 0; r < P; ++r) xs[r] = _mm256_set1_ps(x[m * K + k + r]);
      float* out = partial + m * N;
      int64_t n = 0;
      for (; n + 8 <= N; n += 8) {
        __m256 acc = _mm256_loadu_ps(out + n);
        for (int r = 0; r < P; ++r) acc = _mm256_fmadd_ps(load8(w + r * N + n), xs[r], acc);
        _mm256_storeu_ps(out + n, acc);
      }
      for (; n < N; ++n) {
        for (int r = 0; r < P; ++r) out[n] += load1(w + r * N + n) * x[m * K + k + r];
      }
    }
  }
  for (; k < k_last; ++k) {
    for (int64_t m = 0; m < M; ++m) {
      const float xk = x[m * K + k];
      for (int64_t n = 0; n < N; ++n) partial[m * N + n] += load1(rows + k * N + n) * xk;
    }
  }
}

template <typename W>
void input_major(const W* rows, const float* x, int64_t M, int64_t K, int64_t N, float* y) {
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), K / 16));
  // one partial y per block of K; the first is y itself
  thread_local std::vector<float> mine;
  std::vector<float>& scratch = mine;  // the caller's, by reference: a thread_local named in the lambda is that thread's
  scratch.assign((threads - 1) * M * N, 0.f);
  std::fill(y, y + M * N, 0.f);
  const int64_t block = (K + threads - 1) / threads;
  at::parallel_for(0, threads, 1, [&](int64_t first, int64_t last) {
    for (int64_t part = first; part < last; ++part) {
      float* partial = part == 0 ? y : scratch.data() + (part - 1) * M * N;
      add_rows(rows, x, M, K, N, part * block, std::min(K, (part + 1) * block), partial);
    }
  });
  for (int64_t part = 1; part < threads; ++part) {
    const float* partial = scratch.data() + (part - 1) * M * N;
    for (int64_t i = 0; i < M * N; ++i) y[i] += partial[i];
  }
}

template <typename W>
void product(const at::Tensor& weight, const float* x, int64_t M, int64_t K, int64_t N, float* y) {
  const auto* data = reinterpret_cast<const W*>(weight.data_ptr());
  if (weight.is_contiguous()) {
    switch (M) {
      case 1: return row_major<W, 1>(data, x, K, N, y);
      case 2: return row_major<W, 2>(data, x, K, N, y);
      case 3: return row_major<W, 3>(data, x, K, N, y);
      default: return row_major<W, 4>(data, x, K, N, y);
    }
  } else {
    input_major<W>(data, x, M, K, N, y);
  }
}

at::Tensor decode_linear(const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias) {
  TORCH_CHECK(x.dim() == 2 && x.is_contiguous() && x.device().is_cpu(),
              "decode_linear: x must be a contiguous CPU matrix [M, K]");
  TORCH_CHECK(x.size(0) >= 1 && x.size(0) <= kMaxRows, "decode_linear: x has ", x.size(0), " rows; at most ",
              kMaxRows, " (a decode step's batch)");
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16,
              "decode_linear: x must be float32 or bfloat16");
  TORCH_CHECK(weight.dim() == 2 && weight.scalar_type() == x.scalar_type() && weight.size(1) == x.size(1),
              "decode_linear: weight must be [N, ", x.size(1), "] in x's dtype");
  // strides read directly: weight.t() would be three dispatched ops per call, a tenth of a
  // small product's time
  const bool input_major = weight.stride(1) == weight.size(0) && weight.stride(0) == 1;
  TORCH_CHECK(weight.is_contiguous() || input_major,
              "decode_linear: weight must be row-major [N, K] or input-major ([K, N] contiguous, seen as [N, K])");
  const int64_t M = x.size(0), K = x.size(1), N = weight.size(0);
  if (bias.has_value()) {
    TORCH_CHECK(bias->dim() == 1 && bias->size(0) == N && bias->scalar_type() == x.scalar_type(),
                "decode_linear: bias must be [", N, "] in x's dtype");
  }
  // bfloat16 in and out by hand, and the bias added in the same pass: done through torch
  // (x.to, y.to, y.add_) they were eight dispatched ops a call, 1.2 ms of a bfloat16
  // SmolLM2 step of 15 (torch.profiler, 2-core EPYC)
  at::Tensor out = at::empty({M, N}, x.options());
  const at::Tensor bias_values = bias.has_value() ? bias->contiguous() : at::Tensor();
  if (x.scalar_type() == at::kFloat) {
    float* y = out.data_ptr<float>();
    product<float>(weight, x.data_ptr<float>(), M, K, N, y);
    if (bias.has_value()) {
      const float* b = bias_values.data_ptr<float>();
      for (int64_t i = 0; i < M * N; ++i) y[i] += b[i % N];
    }
  } else {
    thread_local std::vector<float> x32, y;
    x32.resize(M * K);
    y.resize(M * N);
    const c10::BFloat16* source = x.data_ptr<c10::BFloat16>();
    for (int64_t i = 0; i < M * K; ++i) x32[i] = load1(source + i);
    product<c10::BFloat16>(weight, x32.data(), M, K, N, y.data());
    const c10::BFloat16* b = bias.has_value() ? bias_values.data_ptr<c10::BFloat16>() : nullptr;
    auto* target = out.data_ptr<c10::BFloat16>();
    for (int64_t i = 0; i < M * N; ++i) {
      target[i] = static_cast<c10::BFloat16>(b ? y[i] + load1(b + i % N) : y[i]);
    }
  }
  return out;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(archscope_kernels, m) {
  m.def("decode_linear(Tensor x, Tensor weight, Tensor? bias) -> Tensor");
}

TORCH_LIBRARY_IMPL(archscope_kernels, CPU, m) { m.impl("decode_linear", &decode_linear); }
