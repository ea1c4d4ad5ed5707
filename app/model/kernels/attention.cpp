// Softmax attention for one decode step on the CPU: a few query rows per key/value head
// (the query heads that share it) against the cached keys and values.
//
// torch's scaled_dot_product_attention runs its flash kernel here, built for long query
// blocks: at one query row it costs about 25 us a layer in fixed work (buffers, a parallel
// region) for a few thousand multiply-adds, a tenth of a small model's decode step. This
// does the same arithmetic directly: scores = scale * q . k, their softmax (max subtracted),
// then the probability-weighted sum of the values, in float32 whatever the tensors' dtype
// (float32 or bfloat16; the result comes back in it).
//
// q: [B, H, G, D], k: [B, H, L, D] and v: [B, H, L, Dv], each with its last dimension
// contiguous (views of a longer cache, or of the projections' output, are fine); visible: none, or L booleans that every
// row shares (a sliding window's ring buffer hides some slots). Result: [B, H, G, Dv].
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <immintrin.h>

#include "avx2.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace {

template <typename T>
inline float dot(const float* a, const T* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load8(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load8(b + i), acc0);
  float total = horizontal_sum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) total += a[i] * load1(b + i);
  return total;
}

// out += weight * row
template <typename T>
inline void add_scaled(float* out, const T* row, float weight, int64_t n) {
  const __m256 w = _mm256_set1_ps(weight);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_fmadd_ps(w, load8(row + i), _mm256_loadu_ps(out + i)));
  for (; i < n; ++i) out[i] += weight * load1(row + i);
}

template <typename T>
void attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const bool* shown, double scale,
            at::Tensor& out) {
  const int64_t B = q.size(0), H = q.size(1), G = q.size(2), D = q.size(3), L = k.size(2), Dv = v.size(3);
  const T* qd = q.data_ptr<T>();
  const T* kd = k.data_ptr<T>();
  const T* vd = v.data_ptr<T>();
  T* od = out.data_ptr<T>();
  // one (batch, head) pair per task, unless the whole step is too small to share out
  const int64_t work = G * L * (D + Dv);
  const int64_t grain = work < 16384 ? B * H : 1;
  at::parallel_for(0, B * H, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(L), query(D), sum(Dv);
    for (int64_t pair = begin; pair < end; ++pair) {
      const int64_t b = pair / H, h = pair % H;
      const T* keys = kd + b * k.stride(0) + h * k.stride(1);
      const T* values = vd + b * v.stride(0) + h * v.stride(1);
      for (int64_t g = 0; g < G; ++g) {
        const T* row = qd + b * q.stride(0) + h * q.stride(1) + g * q.stride(2);
        for (int64_t d = 0; d < D; ++d) query[d] = load1(row + d);
        float top = -INFINITY;
        for (int64_t l = 0; l < L; ++l) {
          scores[l] = shown == nullptr || shown[l] ? static_cast<float>(scale) * dot(query.data(), keys + l * k.stride(2), D)
                                                   : -INFINITY;
          top = std::max(top, scores[l]);
        }
        std::fill(sum.begin(), sum.end(), 0.f);
        if (top != -INFINITY) {  // else nothing is visible: zeros (a padded row)
          float total = 0.f;
          for (int64_t l = 0; l < L; ++l) total += scores[l] = std::exp(scores[l] - top);
          const float inverse = 1.f / total;
          for (int64_t l = 0; l < L; ++l) {
            if (scores[l] != 0.f) add_scaled(sum.data(), values + l * v.stride(2), scores[l] * inverse, Dv);
          }
        }
        T* target = od + ((b * H + h) * G + g) * Dv;
        for (int64_t d = 0; d < Dv; ++d) target[d] = static_cast<T>(sum[d]);
      }
    }
  });
}

at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const c10::optional<at::Tensor>& visible, double scale) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "decode_attention: q, k, v must be [B, H, rows, D]");
  const auto dtype = q.scalar_type();
  TORCH_CHECK((dtype == at::kFloat || dtype == at::kBFloat16) && k.scalar_type() == dtype &&
                  v.scalar_type() == dtype && q.device().is_cpu() && k.device().is_cpu() && v.device().is_cpu(),
              "decode_attention: float32 or bfloat16 CPU tensors, all three of one dtype");
  const int64_t B = q.size(0), H = q.size(1), G = q.size(2), D = q.size(3), L = k.size(2), Dv = v.size(3);
  TORCH_CHECK(k.size(0) == B && k.size(1) == H && k.size(3) == D && v.size(0) == B && v.size(1) == H &&
                  v.size(2) == L && L > 0,
              "decode_attention: k [B, H, L, D] and v [B, H, L, Dv] must match q [B, H, rows, D]");
  TORCH_CHECK(q.stride(3) == 1 && k.stride(3) == 1 && v.stride(3) == 1,
              "decode_attention: q, k and v need a contiguous last dimension");
  TORCH_CHECK(!visible.has_value() || (visible->scalar_type() == at::kBool && visible->numel() == L &&
                                       visible->is_contiguous()),
              "decode_attention: visible must be ", L, " contiguous booleans");
  const bool* shown = visible.has_value() ? visible->data_ptr<bool>() : nullptr;
  at::Tensor out = at::empty({B, H, G, Dv}, q.options());
  if (dtype == at::kFloat) {
    attend<float>(q, k, v, shown, scale, out);
  } else {
    attend<c10::BFloat16>(q, k, v, shown, scale, out);
  }
  return out;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(archscope_kernels, m) {
  m.def("decode_attention(Tensor q, Tensor k, Tensor v, Tensor? visible, float scale) -> Tensor");
}

TORCH_LIBRARY_IMPL(archscope_kernels, CPU, m) { m.impl("decode_attention", &decode_attention); }
