// Matrix products on low-bit weights, read as they are stored (4 or 8 bits a weight plus a
// scale and an offset per group), for a decode step on an x86 CPU with AVX2.
//
// A weight is w = scale * code + offset within a group of 16 or 32 along the input. The
// activations are quantized to int8 in blocks of 32 (one float scale dx per block), as
// llama.cpp does, so each block's dot product runs on bytes: vpmaddubsw multiplies an
// unsigned byte by a signed byte and adds pairs, vpmaddwd adds pairs again, and the eight
// 32-bit sums become floats once per block. Then
//   y = sum over blocks of dx * scale * (codes . qx)  +  sum over groups of offset * dx * (sum of qx)
// -- the offset term needs only each group's sum of quantized activations.
//
// Layouts (what app/weights/gguf_blocks.py writes):
//   4-bit: 16 bytes per group of 32; byte i holds value i in its low nibble and value i+16
//          in its high one (GGUF's Q4_0 / Q4_1 block order). Codes 0..15.
//   8-bit: one signed byte per value, in order.
//   scales, offsets: [rows, K / group], float32 or float16.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <immintrin.h>

#include "avx2.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace {

constexpr int64_t kBlock = 32;

struct QuantizedActivations {
  std::vector<int8_t> codes;  // [M, K]
  std::vector<float> scale;   // [M, K / 32]
  std::vector<float> sum16;   // [M, K / 16]: scale * the sum of each 16 codes
  std::vector<float> sum32;   // [M, K / 32]: scale * the sum of each 32 codes
};

// One per thread, reused: a decode step calls this a hundred times for a few kilobytes.
QuantizedActivations& quantize_activations(const float* x, int64_t rows, int64_t K) {
  thread_local QuantizedActivations mine;
  QuantizedActivations& a = mine;  // a reference the lambda captures: a thread_local named there is that thread's own
  a.codes.resize(rows * K);
  a.scale.resize(rows * K / kBlock);
  a.sum16.resize(rows * K / 16);
  a.sum32.resize(rows * K / kBlock);
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t m = begin; m < end; ++m) {
      for (int64_t b = 0; b < K / kBlock; ++b) {
        const float* v = x + m * K + b * kBlock;
        float amax = 0.f;
        for (int i = 0; i < kBlock; ++i) amax = std::max(amax, std::fabs(v[i]));
        const float d = amax / 127.f;
        const float inverse = d != 0.f ? 1.f / d : 0.f;
        int sums[2] = {0, 0};
        int8_t* out = a.codes.data() + m * K + b * kBlock;
        for (int i = 0; i < kBlock; ++i) {
          const int code = static_cast<int>(std::nearbyint(v[i] * inverse));
          out[i] = static_cast<int8_t>(code);
          sums[i / 16] += code;
        }
        a.scale[m * (K / kBlock) + b] = d;
        a.sum16[m * (K / 16) + 2 * b] = d * sums[0];
        a.sum16[m * (K / 16) + 2 * b + 1] = d * sums[1];
        a.sum32[m * (K / kBlock) + b] = d * (sums[0] + sums[1]);
      }
    }
  });
  return a;
}

inline float as_float(float v) { return v; }
inline float as_float(uint16_t half) { return _cvtsh_ss(half); }

inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

// The eight 32-bit sums of a block's byte products: lane i sums values 4i .. 4i+3.
inline __m256 block_products(__m256i unsigned_bytes, __m256i signed_bytes) {
  const __m256i pairs = _mm256_maddubs_epi16(unsigned_bytes, signed_bytes);
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

// A 4-bit group's 32 codes from its 16 bytes: value i in byte i's low nibble, i+16 in its high one.
inline __m256i unpack_4bit(const uint8_t* bytes) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0F));
}

// The sums of R vectors' eight floats each, in R floats (R <= 4; out[r] for vector r).
template <int R>
inline void horizontal_sums(const __m256* v, float* out) {
  if constexpr (R == 1) {
    out[0] = horizontal_sum(v[0]);
  } else {
    const __m256 zero = _mm256_setzero_ps();
    // hadd twice leaves, in each 128-bit half, the four vectors' sums over that half
    const __m256 pairs = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(R > 2 ? v[2] : zero,
                                                                                  R > 3 ? v[3] : zero));
    float sums[4];
    _mm_storeu_ps(sums, _mm_add_ps(_mm256_castps256_ps128(pairs), _mm256_extractf128_ps(pairs, 1)));
    for (int r = 0; r < R; ++r) out[r] = sums[r];
  }
}

// R rows at once against one row of activations: the activation block is loaded once for
// all R, and their sums are reduced together -- for the narrow matrices of a small model
// (K = 576: 18 blocks a row) the per-row reduction otherwise costs as much as the products.
// Reading R rows side by side defeats the hardware prefetcher, which follows one stream at
// a time: each block's turn asks for its share of a later tile's rows (`ahead`, their first
// byte; `ahead_step`, the bytes a turn; a prefetch past the matrix's end is harmless).
template <typename Scale, int R, int Bits, int Group>
void dot_rows(const uint8_t* const* rows, const Scale* const* scale, const Scale* const* offset,
              const int8_t* qx, const float* dx, const float* group_sums, int64_t blocks,
              const uint8_t* ahead, int64_t ahead_step, float* out) {
  __m256 acc[R], offsets[R];
  for (int r = 0; r < R; ++r) acc[r] = offsets[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    if (ahead != nullptr) {
      for (int64_t line = 0; line < ahead_step; line += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(ahead + b * ahead_step + line), _MM_HINT_T0);
      }
    }
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx + kBlock * b));
    for (int r = 0; r < R; ++r) {
      __m256 products;
      if constexpr (Bits == 4) {
        products = block_products(unpack_4bit(rows[r] + 16 * b), x);
      } else {  // vpmaddubsw wants its first operand unsigned: |w|, and x carries w's sign
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[r] + kBlock * b));
        products = block_products(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
      }
      __m256 factor;
      if constexpr (Group == 32) {
        factor = _mm256_set1_ps(as_float(scale[r][b]) * dx[b]);
      } else {  // lanes 0-3 hold values 0-15, lanes 4-7 values 16-31
        factor = _mm256_mul_ps(_mm256_set_m128(_mm_set1_ps(as_float(scale[r][2 * b + 1])),
                                               _mm_set1_ps(as_float(scale[r][2 * b]))),
                               _mm256_set1_ps(dx[b]));
      }
      acc[r] = _mm256_fmadd_ps(factor, products, acc[r]);
    }
  }
  // sum over groups of offset * (the group's scaled sum of activation codes)
  const int64_t groups = blocks * kBlock / Group;
  float tails[R] = {};
  if (offset != nullptr) {
    int64_t g = 0;
    for (; g + 8 <= groups; g += 8) {
      const __m256 sums = _mm256_loadu_ps(group_sums + g);
      for (int r = 0; r < R; ++r) offsets[r] = _mm256_fmadd_ps(load8(offset[r] + g), sums, offsets[r]);
    }
    for (; g < groups; ++g) {
      for (int r = 0; r < R; ++r) tails[r] += as_float(offset[r][g]) * group_sums[g];
    }
    for (int r = 0; r < R; ++r) acc[r] = _mm256_add_ps(acc[r], offsets[r]);
  }
  horizontal_sums<R>(acc, out);
  for (int r = 0; r < R; ++r) out[r] += tails[r];
}

template <typename Scale, int Bits, int Group>
void run(const QuantizedActivations& a, int64_t M, int64_t K, int64_t N, const uint8_t* data, const Scale* scale,
         const Scale* offset, float* y) {
  constexpr int kRows = 4;
  constexpr int kAhead = 1;  // tiles: the next one (two to eight ahead measured no better on a 2-core EPYC)
  const int64_t blocks = K / kBlock, groups = K / Group;
  const int64_t row_bytes = Bits == 4 ? K / 2 : K;
  // rows per task, a multiple of kRows: enough weights that a task outweighs handing it to a thread
  const int64_t grain = std::max<int64_t>(kRows, 16384 / K / kRows * kRows);
  const int64_t tiles = (N + kRows - 1) / kRows;
  at::parallel_for(0, tiles, std::max<int64_t>(1, grain / kRows), [&](int64_t first, int64_t last) {
    for (int64_t n = first * kRows; n < std::min(N, last * kRows);) {
      const int R = std::min<int64_t>(kRows, N - n) == kRows ? kRows : 1;
      const uint8_t* rows[kRows];
      const Scale* row_scale[kRows];
      const Scale* row_offset[kRows];
      for (int r = 0; r < R; ++r) {
        rows[r] = data + (n + r) * row_bytes;
        row_scale[r] = scale + (n + r) * groups;
        row_offset[r] = offset != nullptr ? offset + (n + r) * groups : nullptr;
      }
      for (int64_t m = 0; m < M; ++m) {
        const int8_t* qx = a.codes.data() + m * K;
        const float* dx = a.scale.data() + m * blocks;
        // each group's scaled activation sum, for the offsets
        const float* group_sums = Group == 16 ? a.sum16.data() + m * (K / 16) : a.sum32.data() + m * blocks;
        const Scale* const* offsets = offset != nullptr ? row_offset : nullptr;
        float out[kRows];
        if (R == kRows) {
          // the tiles kAhead on: kRows rows, contiguous, a block's share of them each turn
          dot_rows<Scale, kRows, Bits, Group>(rows, row_scale, offsets, qx, dx, group_sums, blocks,
                                              m == 0 ? rows[0] + kAhead * kRows * row_bytes : nullptr,
                                              kAhead * kRows * row_bytes / blocks, out);
        } else {
          dot_rows<Scale, 1, Bits, Group>(rows, row_scale, offsets, qx, dx, group_sums, blocks, nullptr, 0, out);
        }
        for (int r = 0; r < R; ++r) y[m * N + n + r] = out[r];
      }
      n += R;
    }
  });
}

template <typename Scale>
void run_layout(const QuantizedActivations& a, int64_t M, int64_t K, int64_t N, const at::Tensor& codes,
                const at::Tensor& scales, const c10::optional<at::Tensor>& offsets, int64_t bits, int64_t group,
                float* y) {
  const auto* data = reinterpret_cast<const uint8_t*>(codes.data_ptr());
  const auto* scale = reinterpret_cast<const Scale*>(scales.data_ptr());
  const auto* offset = offsets.has_value() ? reinterpret_cast<const Scale*>(offsets->data_ptr()) : nullptr;
  if (bits == 4) {
    run<Scale, 4, 32>(a, M, K, N, data, scale, offset, y);
  } else if (group == 16) {
    run<Scale, 8, 16>(a, M, K, N, data, scale, offset, y);
  } else {
    run<Scale, 8, 32>(a, M, K, N, data, scale, offset, y);
  }
}

at::Tensor lowbit_linear(const at::Tensor& x, const at::Tensor& codes, const at::Tensor& scales,
                         const c10::optional<at::Tensor>& offsets, int64_t bits, int64_t group) {
  TORCH_CHECK(x.dim() == 2 && x.scalar_type() == at::kFloat && x.is_contiguous() && x.device().is_cpu(),
              "lowbit_linear: x must be a contiguous float32 CPU matrix [M, K]");
  const int64_t M = x.size(0), K = x.size(1), N = codes.size(0);
  TORCH_CHECK(K % kBlock == 0, "lowbit_linear: K = ", K, " is not a multiple of 32");
  TORCH_CHECK(bits == 4 || bits == 8, "lowbit_linear: bits must be 4 or 8, got ", bits);
  TORCH_CHECK(group == 32 || (bits == 8 && group == 16), "lowbit_linear: groups of ", group,
              " are not supported for ", bits, "-bit codes");
  TORCH_CHECK(codes.is_contiguous() && codes.dim() == 2 && codes.size(1) == (bits == 4 ? K / 2 : K) &&
                  codes.element_size() == 1,
              "lowbit_linear: codes must be contiguous bytes [N, ", bits == 4 ? K / 2 : K, "]");
  TORCH_CHECK(scales.is_contiguous() && scales.dim() == 2 && scales.size(0) == N && scales.size(1) == K / group &&
                  (scales.scalar_type() == at::kFloat || scales.scalar_type() == at::kHalf),
              "lowbit_linear: scales must be contiguous float32 or float16 [N, K / group]");
  if (offsets.has_value()) {
    TORCH_CHECK(offsets->is_contiguous() && offsets->sizes() == scales.sizes() &&
                    offsets->scalar_type() == scales.scalar_type(),
                "lowbit_linear: offsets must match the scales' shape and dtype");
  }
  const QuantizedActivations& a = quantize_activations(x.data_ptr<float>(), M, K);
  at::Tensor y = at::empty({M, N}, x.options());
  if (scales.scalar_type() == at::kHalf) {
    run_layout<uint16_t>(a, M, K, N, codes, scales, offsets, bits, group, y.data_ptr<float>());
  } else {
    run_layout<float>(a, M, K, N, codes, scales, offsets, bits, group, y.data_ptr<float>());
  }
  return y;
}

}  // namespace

TORCH_LIBRARY(archscope_kernels, m) {
  m.def("lowbit_linear(Tensor x, Tensor codes, Tensor scales, Tensor? offsets, int bits, int group) -> Tensor");
}

TORCH_LIBRARY_IMPL(archscope_kernels, CPU, m) { m.impl("lowbit_linear", &lowbit_linear); }
