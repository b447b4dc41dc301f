// moesim-probe: measures the GPU numbers that moesim's GPU and interconnect profiles hold.
//
// Sections (each can be skipped with --skip NAME; all write CSV files into --results-dir):
//   check     cuBLAS bf16 GEMM / strided-batched GEMM against a naive fp32 kernel (relative L2 error)
//   launch    empty-kernel launch cost: host-side enqueue per launch, launch+sync round trip, GPU-side gap
//   bandwidth streaming read kernel, device-to-device copy (cudaMemcpyAsync), memset write
//   gemm      bf16 GEMM (cublasGemmEx, fp32 accumulate) over M x the (N,K) shapes of shapes.txt
//   grouped   strided-batched expert GEMMs (cublasGemmStridedBatchedEx) over experts x tokens-per-expert
//   attn      decode-attention KV read: a kernel streaming K and V (bf16) of batch x context x kv_heads x 128
//   nccl      all_reduce, all_to_all, all_gather, reduce_scatter, send_recv from 1 KB to 1 GB on 2..N GPUs
//
// Timing: every timed launch is bracketed by CUDA events; the timed launches are queued behind a
// "delay" kernel so the host's enqueue cost does not appear as GPU idle time between them; the
// reported time is the median over the repeats (after warm-up). Weights are rotated among several
// copies so that small shapes are not measured out of L2. Inputs are random, never zeros.
//
// probe/make_profile.py turns the results directory into moesim profile JSON files.

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#ifdef MOESIM_HAVE_NCCL
#include <nccl.h>
#endif
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

typedef __nv_bfloat16 bf16;

#define CK(x)                                                                                       \
  do {                                                                                              \
    cudaError_t e_ = (x);                                                                           \
    if (e_ != cudaSuccess) {                                                                        \
      fprintf(stderr, "CUDA error '%s' at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__, __LINE__, \
              #x);                                                                                  \
      exit(2);                                                                                      \
    }                                                                                               \
  } while (0)
#define CB(x)                                                                                       \
  do {                                                                                              \
    cublasStatus_t s_ = (x);                                                                        \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                                              \
      fprintf(stderr, "cuBLAS error %d at %s:%d: %s\n", (int)s_, __FILE__, __LINE__, #x);          \
      exit(3);                                                                                      \
    }                                                                                               \
  } while (0)
#ifdef MOESIM_HAVE_NCCL
#define CN(x)                                                                                       \
  do {                                                                                              \
    ncclResult_t r_ = (x);                                                                          \
    if (r_ != ncclSuccess) {                                                                        \
      fprintf(stderr, "NCCL error '%s' at %s:%d: %s\n", ncclGetErrorString(r_), __FILE__, __LINE__, \
              #x);                                                                                  \
      exit(4);                                                                                      \
    }                                                                                               \
  } while (0)
#endif

// ----------------------------------------------------------------------------------------------
// Options and small helpers
// ----------------------------------------------------------------------------------------------

struct Options {
  std::string results_dir = "probe-results";
  std::string shapes = "probe/shapes.txt";
  std::string grouped_shapes = "probe/grouped_shapes.txt";
  std::set<std::string> skip;
  double time_budget_s = 300;          // whole probe; sections past it are skipped and recorded
  bool quick = false;                  // tiny grids, for a smoke test
  long long max_m = 16384;
  long long nccl_max_bytes = 1LL << 30;
  int device = 0;
};

static std::chrono::steady_clock::time_point g_start, g_deadline;
static FILE* g_skipped = nullptr;  // skipped.txt

static double elapsed_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count();
}
static bool past_deadline() { return std::chrono::steady_clock::now() > g_deadline; }
static void note_skip(const std::string& what) {
  printf("[probe] SKIPPED: %s\n", what.c_str());
  fflush(stdout);
  if (g_skipped) {
    fprintf(g_skipped, "%s\n", what.c_str());
    fflush(g_skipped);
  }
}

static FILE* open_csv(const Options& o, const char* name, const char* header) {
  std::string path = o.results_dir + "/" + name;
  FILE* f = fopen(path.c_str(), "w");
  if (!f) {
    fprintf(stderr, "cannot write %s\n", path.c_str());
    exit(5);
  }
  fprintf(f, "%s\n", header);
  fflush(f);
  return f;
}

static std::string json_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      r += '\\';
      r += c;
    } else if ((unsigned char)c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", (unsigned)(unsigned char)c);
      r += buf;
    } else {
      r += c;
    }
  }
  return r;
}

static std::string run_cmd(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
  return out;
}

static std::string version_str(int v, int major_div, int minor_div) {
  char buf[64];
  int major = v / major_div, minor = (v % major_div) / minor_div, patch = v % minor_div;
  snprintf(buf, sizeof buf, "%d.%d.%d", major, minor, patch);
  return buf;
}

static double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// ----------------------------------------------------------------------------------------------
// Kernels
// ----------------------------------------------------------------------------------------------

__device__ __forceinline__ uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Uniform values in [-scale, scale), as bf16.
__global__ void fill_random_bf16(bf16* p, size_t n, uint64_t seed, float scale) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    uint64_t r = mix64(seed * 0x9e3779b97f4a7c15ULL + i);
    float u = (float)(r >> 40) * (1.0f / 16777216.0f);  // [0,1)
    p[i] = __float2bfloat16((2.0f * u - 1.0f) * scale);
  }
}

__global__ void fill_random_f32(float* p, size_t n, uint64_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    uint64_t r = mix64(seed * 0x9e3779b97f4a7c15ULL + i);
    p[i] = (float)(r >> 40) * (1.0f / 16777216.0f) - 0.5f;
  }
}

// Keeps the GPU busy for `ns` nanoseconds so the host can queue the timed launches behind it.
__global__ void delay_kernel(unsigned long long ns) {
  unsigned long long t0, t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  do {
    __nanosleep(2000);
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  } while (t - t0 < ns);
}

__global__ void empty_kernel() {}

// Streaming read: 16-byte loads, 4 independent loads in flight per thread.
__global__ void read_kernel(const uint4* __restrict__ p, size_t n, unsigned* sink) {
  unsigned acc = 0;
  size_t stride = (size_t)gridDim.x * blockDim.x;
  size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
  for (; i + 3 * stride < n; i += 4 * stride) {
    uint4 a = __ldcs(p + i);
    uint4 b = __ldcs(p + i + stride);
    uint4 c = __ldcs(p + i + 2 * stride);
    uint4 d = __ldcs(p + i + 3 * stride);
    acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
  }
  for (; i < n; i += stride) {
    uint4 a = __ldcs(p + i);
    acc ^= a.x ^ a.y ^ a.z ^ a.w;
  }
  if (acc == 0x9e3779b9u) *sink = acc;  // practically never true; keeps the loads alive
}

// Decode-attention KV read. K and V are [batch][kv_heads][ctx][128] bf16 (one row = 16 uint4).
// Grid (splits, kv_heads, batch), 256 threads: thread t reads column chunk t%16 of rows t/16, t/16+16, ...
// Computes s = q.k per row and accumulates s * sum(v) (a stand-in for the softmax-weighted V sum).
__global__ void __launch_bounds__(256) decode_kv_read(const uint4* __restrict__ K, const uint4* __restrict__ V,
                                                      const float* __restrict__ q, float* out, int ctx,
                                                      int rows_per_split, int kv_heads) {
  const int split = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const size_t bh = (size_t)b * kv_heads + h;
  const size_t head_off = bh * (size_t)ctx * 16;
  const int col = threadIdx.x & 15;
  float qv[8];
#pragma unroll
  for (int j = 0; j < 8; j++) qv[j] = q[bh * 128 + col * 8 + j];
  const int row_end = min(ctx, (split + 1) * rows_per_split);
  float acc = 0.f;
#pragma unroll 4
  for (int r = split * rows_per_split + (threadIdx.x >> 4); r < row_end; r += 16) {
    uint4 kk = __ldcs(K + head_off + (size_t)r * 16 + col);
    uint4 vv = __ldcs(V + head_off + (size_t)r * 16 + col);
    const __nv_bfloat162* k2 = reinterpret_cast<const __nv_bfloat162*>(&kk);
    const __nv_bfloat162* v2 = reinterpret_cast<const __nv_bfloat162*>(&vv);
    float s = 0.f, vs = 0.f;
#pragma unroll
    for (int j = 0; j < 4; j++) {
      float2 kf = __bfloat1622float2(k2[j]);
      float2 vf = __bfloat1622float2(v2[j]);
      s += kf.x * qv[2 * j] + kf.y * qv[2 * j + 1];
      vs += vf.x + vf.y;
    }
    acc += s * vs;
  }
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, off);
  if ((threadIdx.x & 31) == 0) atomicAdd(out + bh, acc);
}

// Naive reference: Y[m][n] = sum_k X[m][k] * W[n][k], fp32 (batched over blockIdx.z).
__global__ void ref_gemm(const bf16* X, const bf16* W, float* Y, int m, int n, int k) {
  int e = blockIdx.z;
  int col = blockIdx.x * blockDim.x + threadIdx.x, row = blockIdx.y;
  if (col >= n || row >= m) return;
  const bf16* x = X + (size_t)e * m * k + (size_t)row * k;
  const bf16* w = W + (size_t)e * n * k + (size_t)col * k;
  float acc = 0.f;
  for (int i = 0; i < k; i++) acc += __bfloat162float(x[i]) * __bfloat162float(w[i]);
  Y[(size_t)e * m * n + (size_t)row * n + col] = acc;
}

// ----------------------------------------------------------------------------------------------
// Timing
// ----------------------------------------------------------------------------------------------

static const int kMaxReps = 400;
static cudaEvent_t g_ev[kMaxReps + 1];

static void fill_bf16(bf16* p, size_t n, uint64_t seed, float scale, cudaStream_t s) {
  fill_random_bf16<<<4096, 256, 0, s>>>(p, n, seed, scale);
  CK(cudaGetLastError());
}

// Runs fn(i) `warmup` times untimed, then `reps` times with an event after each; returns the
// per-launch times in microseconds. The timed launches are queued behind a delay kernel so that
// host enqueue time does not show up as GPU idle time between them.
static std::vector<double> time_reps(cudaStream_t s, const std::function<void(int)>& fn, int warmup, int reps,
                                     double host_us_per_rep = 15.0) {
  reps = std::max(1, std::min(reps, kMaxReps));
  for (int i = 0; i < warmup; i++) fn(i);
  unsigned long long delay_ns = (unsigned long long)(std::min(20000.0, 500.0 + reps * host_us_per_rep) * 1000.0);
  delay_kernel<<<1, 1, 0, s>>>(delay_ns);
  CK(cudaGetLastError());
  CK(cudaEventRecord(g_ev[0], s));
  for (int i = 0; i < reps; i++) {
    fn(warmup + i);
    CK(cudaEventRecord(g_ev[i + 1], s));
  }
  CK(cudaStreamSynchronize(s));
  CK(cudaGetLastError());
  std::vector<double> t(reps);
  for (int i = 0; i < reps; i++) {
    float ms = 0.f;
    CK(cudaEventElapsedTime(&ms, g_ev[i], g_ev[i + 1]));
    t[i] = ms * 1000.0;
  }
  return t;
}

// Estimates one launch's time, then times enough repeats to cover ~target_us of GPU time.
static double bench_median_us(cudaStream_t s, const std::function<void(int)>& fn, int* reps_out = nullptr,
                              double target_us = 20000.0, int min_reps = 5, int max_reps = 200) {
  double est = median(time_reps(s, fn, 1, 3));
  int reps = (int)std::ceil(target_us / std::max(est, 1.0));
  reps = std::max(min_reps, std::min(max_reps, reps));
  if (reps_out) *reps_out = reps;
  return median(time_reps(s, fn, 2, reps));
}

// ----------------------------------------------------------------------------------------------
// GEMM helpers. Row-major PyTorch convention: Y[m,n] = X[m,k] . W[n,k]^T  (cuBLAS "TN").
// ----------------------------------------------------------------------------------------------

static void gemm_bf16(cublasHandle_t h, int m, int n, int k, const bf16* W, const bf16* X, bf16* Y) {
  const float alpha = 1.f, beta = 0.f;
  CB(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha, W, CUDA_R_16BF, k, X, CUDA_R_16BF, k, &beta, Y,
                  CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

static void gemm_bf16_batched(cublasHandle_t h, int e, int m, int n, int k, const bf16* W, const bf16* X,
                              bf16* Y) {
  const float alpha = 1.f, beta = 0.f;
  CB(cublasGemmStridedBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha, W, CUDA_R_16BF, k,
                                (long long)n * k, X, CUDA_R_16BF, k, (long long)m * k, &beta, Y, CUDA_R_16BF, n,
                                (long long)m * n, e, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

struct Buffers {
  bf16* X = nullptr;
  size_t x_elems = 0;
  bf16* Y = nullptr;
  size_t y_elems = 0;
  bf16* Wpool = nullptr;
  size_t w_elems = 0;
};

struct DenseShape {
  long long n, k;
  std::string tags;
};
struct GroupedShape {
  long long n, k;
  int max_experts;
  std::string tag;
};

static std::vector<DenseShape> read_shapes(const std::string& path) {
  std::vector<DenseShape> v;
  FILE* f = fopen(path.c_str(), "r");
  if (!f) {
    fprintf(stderr, "[probe] cannot read %s (run probe/gen_shapes.py)\n", path.c_str());
    return v;
  }
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || line[0] == '\n') continue;
    long long n, k;
    char tags[4000] = "";
    if (sscanf(line, "%lld %lld %3999s", &n, &k, tags) >= 2) v.push_back({n, k, tags});
  }
  fclose(f);
  return v;
}

static std::vector<GroupedShape> read_grouped(const std::string& path) {
  std::vector<GroupedShape> v;
  FILE* f = fopen(path.c_str(), "r");
  if (!f) {
    fprintf(stderr, "[probe] cannot read %s (run probe/gen_shapes.py)\n", path.c_str());
    return v;
  }
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || line[0] == '\n') continue;
    long long n, k;
    int e = 64;
    char tag[4000] = "";
    if (sscanf(line, "%lld %lld %d %3999s", &n, &k, &e, tag) >= 2) v.push_back({n, k, e, tag});
  }
  fclose(f);
  return v;
}

// ----------------------------------------------------------------------------------------------
// Sections
// ----------------------------------------------------------------------------------------------

static void section_check(const Options& o, cublasHandle_t h, cudaStream_t s) {
  FILE* f = open_csv(o, "checks.csv", "check,m,n,k,experts,rel_l2_err,pass");
  struct C {
    int e, m, n, k;
  } cases[] = {{1, 1, 256, 512}, {1, 77, 300, 1000}, {1, 256, 1024, 2048}, {4, 16, 512, 1024}, {8, 3, 2048, 1408}};
  for (auto c : cases) {
    size_t xe = (size_t)c.e * c.m * c.k, we = (size_t)c.e * c.n * c.k, ye = (size_t)c.e * c.m * c.n;
    bf16 *X, *W, *Y;
    float* R;
    CK(cudaMalloc(&X, xe * sizeof(bf16)));
    CK(cudaMalloc(&W, we * sizeof(bf16)));
    CK(cudaMalloc(&Y, ye * sizeof(bf16)));
    CK(cudaMalloc(&R, ye * sizeof(float)));
    fill_bf16(X, xe, 11 + c.m, 1.0f, s);
    fill_bf16(W, we, 17 + c.n, 1.0f, s);
    fill_bf16(Y, ye, 99, 1000.0f, s);  // poison: unwritten outputs show up as large errors
    if (c.e == 1)
      gemm_bf16(h, c.m, c.n, c.k, W, X, Y);
    else
      gemm_bf16_batched(h, c.e, c.m, c.n, c.k, W, X, Y);
    dim3 grid((c.n + 127) / 128, c.m, c.e);
    ref_gemm<<<grid, 128, 0, s>>>(X, W, R, c.m, c.n, c.k);
    CK(cudaGetLastError());
    CK(cudaStreamSynchronize(s));
    std::vector<bf16> hy(ye);
    std::vector<float> hr(ye);
    CK(cudaMemcpy(hy.data(), Y, ye * sizeof(bf16), cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(hr.data(), R, ye * sizeof(float), cudaMemcpyDeviceToHost));
    double num = 0, den = 0;
    for (size_t i = 0; i < ye; i++) {
      double y = (double)__bfloat162float(hy[i]), r = hr[i];
      num += (y - r) * (y - r);
      den += r * r;
    }
    double err = std::sqrt(num / std::max(den, 1e-30));
    bool pass = std::isfinite(err) && err < 1e-2;
    fprintf(f, "%s,%d,%d,%d,%d,%.3e,%d\n", c.e == 1 ? "gemm" : "strided_batched", c.m, c.n, c.k, c.e, err,
            pass ? 1 : 0);
    printf("[probe] check %s m=%d n=%d k=%d e=%d rel_l2_err=%.2e %s\n", c.e == 1 ? "gemm" : "batched", c.m, c.n,
           c.k, c.e, err, pass ? "ok" : "FAIL");
    CK(cudaFree(X));
    CK(cudaFree(W));
    CK(cudaFree(Y));
    CK(cudaFree(R));
  }
  fclose(f);
}

static double section_launch(const Options& o, cudaStream_t s) {
  FILE* f = open_csv(o, "launch.csv", "metric,value_us,note");
  // Host-side enqueue cost of one launch (queue well short of full).
  const int N = 500;
  std::vector<double> host, total, roundtrip, gpu;
  for (int i = 0; i < 20; i++) empty_kernel<<<1, 1, 0, s>>>();
  CK(cudaStreamSynchronize(s));
  for (int trial = 0; trial < 21; trial++) {
    CK(cudaStreamSynchronize(s));
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < N; i++) empty_kernel<<<1, 1, 0, s>>>();
    auto t1 = std::chrono::steady_clock::now();
    CK(cudaStreamSynchronize(s));
    auto t2 = std::chrono::steady_clock::now();
    host.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / N);
    total.push_back(std::chrono::duration<double, std::micro>(t2 - t0).count() / N);
  }
  CK(cudaGetLastError());
  // Launch + synchronize round trip (what a host that waits on each kernel pays).
  for (int i = 0; i < 2000; i++) {
    auto t0 = std::chrono::steady_clock::now();
    empty_kernel<<<1, 1, 0, s>>>();
    CK(cudaStreamSynchronize(s));
    auto t1 = std::chrono::steady_clock::now();
    roundtrip.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  // GPU-side time per back-to-back empty kernel (queued behind a delay kernel: no host gaps).
  for (int trial = 0; trial < 7; trial++) {
    delay_kernel<<<1, 1, 0, s>>>(15ull * 1000 * 1000);
    CK(cudaEventRecord(g_ev[0], s));
    for (int i = 0; i < 1000; i++) empty_kernel<<<1, 1, 0, s>>>();
    CK(cudaEventRecord(g_ev[1], s));
    CK(cudaStreamSynchronize(s));
    float ms;
    CK(cudaEventElapsedTime(&ms, g_ev[0], g_ev[1]));
    gpu.push_back(ms * 1000.0 / 1000);
  }
  CK(cudaGetLastError());
  double h = median(host);
  fprintf(f, "host_enqueue_per_launch,%.3f,median of 21 trials of %d back-to-back empty launches (host clock)\n", h,
          N);
  fprintf(f, "host_wall_per_launch_incl_sync,%.3f,same trials including the final synchronize\n", median(total));
  fprintf(f, "launch_sync_roundtrip,%.3f,median of 2000 launch+cudaStreamSynchronize\n", median(roundtrip));
  fprintf(f, "gpu_per_empty_kernel,%.3f,median of 7 x 1000 queued empty kernels (CUDA events)\n", median(gpu));
  fclose(f);
  printf("[probe] launch: host enqueue %.2f us, launch+sync %.2f us, GPU per empty kernel %.2f us\n", h,
         median(roundtrip), median(gpu));
  return h;
}

static void section_bandwidth(const Options& o, cudaStream_t s, int sms) {
  FILE* f = open_csv(o, "bandwidth.csv", "test,bytes,time_us,gbps,config");
  size_t bytes = o.quick ? (256ull << 20) : (4ull << 30);
  void *a, *b;
  unsigned* sink;
  CK(cudaMalloc(&a, bytes));
  CK(cudaMalloc(&b, bytes));
  CK(cudaMalloc(&sink, sizeof(unsigned)));
  fill_bf16((bf16*)a, bytes / 2, 1234, 1.0f, s);
  fill_bf16((bf16*)b, bytes / 2, 4321, 1.0f, s);
  CK(cudaStreamSynchronize(s));
  size_t n16 = bytes / 16;
  double best_read = 0;
  for (int bps : {2, 4, 8, 16}) {
    for (int threads : {256, 512}) {
      int blocks = sms * bps * (512 / threads);
      double t = median(time_reps(
          s, [&](int) { read_kernel<<<blocks, threads, 0, s>>>((const uint4*)a, n16, sink); }, 2, 10));
      double gbps = bytes / (t * 1e-6) / 1e9;
      best_read = std::max(best_read, gbps);
      fprintf(f, "read,%zu,%.2f,%.1f,blocks=%d threads=%d\n", bytes, t, gbps, blocks, threads);
    }
  }
  size_t cbytes = bytes / 2;
  double tc = median(time_reps(
      s, [&](int i) { CK(cudaMemcpyAsync(i % 2 ? a : b, i % 2 ? b : a, cbytes, cudaMemcpyDeviceToDevice, s)); }, 2,
      10));
  double copy_gbps = 2.0 * cbytes / (tc * 1e-6) / 1e9;
  fprintf(f, "copy,%zu,%.2f,%.1f,cudaMemcpyAsync D2D; gbps counts bytes read + bytes written\n", cbytes, tc,
          copy_gbps);
  double tw = median(time_reps(s, [&](int i) { CK(cudaMemsetAsync(i % 2 ? a : b, i & 0xff, bytes, s)); }, 2, 10));
  double write_gbps = bytes / (tw * 1e-6) / 1e9;
  fprintf(f, "write,%zu,%.2f,%.1f,cudaMemsetAsync\n", bytes, tw, write_gbps);
  fclose(f);
  printf("[probe] bandwidth: read %.0f GB/s, copy %.0f GB/s (read+write), write %.0f GB/s\n", best_read, copy_gbps,
         write_gbps);
  CK(cudaFree(a));
  CK(cudaFree(b));
  CK(cudaFree(sink));
}

static std::vector<long long> m_grid(const Options& o) {
  std::vector<long long> v;
  for (long long m = 1; m <= o.max_m; m *= 2) v.push_back(m);
  if (o.quick) v = {1, 16, 256, 4096};
  return v;
}

static void section_gemm(const Options& o, cublasHandle_t h, cudaStream_t s, Buffers& B) {
  auto shapes = read_shapes(o.shapes);
  if (o.quick && shapes.size() > 4) shapes.resize(4);
  FILE* f = open_csv(o, "gemm.csv", "m,n,k,time_us,tflops,reps,weight_copies,tags");
  auto ms = m_grid(o);
  double best = 0;
  for (size_t si = 0; si < shapes.size(); si++) {
    const auto& sh = shapes[si];
    size_t wel = (size_t)(sh.n * sh.k);
    if (wel > B.w_elems) {
      note_skip("gemm n=" + std::to_string(sh.n) + " k=" + std::to_string(sh.k) + ": weight larger than pool");
      continue;
    }
    int copies = (int)std::max<size_t>(1, std::min<size_t>(64, B.w_elems / wel));
    for (long long m : ms) {
      if (past_deadline()) {
        note_skip("gemm n=" + std::to_string(sh.n) + " k=" + std::to_string(sh.k) + " m>=" + std::to_string(m) +
                  ": time budget");
        break;
      }
      if ((size_t)(m * sh.k) > B.x_elems || (size_t)(m * sh.n) > B.y_elems) {
        note_skip("gemm m=" + std::to_string(m) + " n=" + std::to_string(sh.n) + " k=" + std::to_string(sh.k) +
                  ": buffers too small");
        continue;
      }
      int reps = 0;
      double t = bench_median_us(
          s, [&](int i) { gemm_bf16(h, (int)m, (int)sh.n, (int)sh.k, B.Wpool + (size_t)(i % copies) * wel, B.X, B.Y); },
          &reps);
      double tf = 2.0 * m * sh.n * sh.k / (t * 1e-6) / 1e12;
      best = std::max(best, tf);
      fprintf(f, "%lld,%lld,%lld,%.3f,%.2f,%d,%d,%s\n", m, sh.n, sh.k, t, tf, reps, copies, sh.tags.c_str());
    }
    fflush(f);
    printf("[probe] gemm %zu/%zu n=%lld k=%lld done (%.0fs elapsed, best so far %.0f TFLOP/s)\n", si + 1,
           shapes.size(), sh.n, sh.k, elapsed_s(), best);
    fflush(stdout);
  }
  // A square reference point (the usual "large GEMM" figure), if not in the grid.
  if (!past_deadline() && !o.quick) {
    for (long long sz : {4096LL, 8192LL}) {
      if ((size_t)(sz * sz) > B.x_elems || (size_t)(sz * sz) > B.w_elems || (size_t)(sz * sz) > B.y_elems) continue;
      int reps = 0;
      double t = bench_median_us(s, [&](int) { gemm_bf16(h, (int)sz, (int)sz, (int)sz, B.Wpool, B.X, B.Y); }, &reps);
      double tf = 2.0 * sz * sz * sz / (t * 1e-6) / 1e12;
      best = std::max(best, tf);
      fprintf(f, "%lld,%lld,%lld,%.3f,%.2f,%d,1,square-reference\n", sz, sz, sz, t, tf, reps);
    }
  }
  fclose(f);
  printf("[probe] gemm: best %.0f TFLOP/s\n", best);
}

static void section_grouped(const Options& o, cublasHandle_t h, cudaStream_t s, Buffers& B) {
  auto shapes = read_grouped(o.grouped_shapes);
  FILE* f = open_csv(o, "grouped.csv", "experts,tokens_per_expert,n,k,time_us,tflops,reps,weight_copies,tag");
  std::vector<int> egrid = {1, 2, 4, 8, 16, 32, 64};
  std::vector<int> tgrid = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  if (o.quick) {
    egrid = {1, 8};
    tgrid = {1, 16, 256};
  }
  for (const auto& sh : shapes) {
    std::vector<int> es;
    for (int e : egrid)
      if (e <= sh.max_experts) es.push_back(e);
    if (std::find(es.begin(), es.end(), sh.max_experts) == es.end() && !o.quick) es.push_back(sh.max_experts);
    for (int e : es) {
      size_t wel = (size_t)e * sh.n * sh.k;
      if (wel > B.w_elems) {
        note_skip("grouped e=" + std::to_string(e) + " n=" + std::to_string(sh.n) + ": weights larger than pool");
        continue;
      }
      int copies = (int)std::max<size_t>(1, std::min<size_t>(32, B.w_elems / wel));
      for (int t : tgrid) {
        if (past_deadline()) {
          note_skip("grouped " + sh.tag + " e=" + std::to_string(e) + " t>=" + std::to_string(t) + ": time budget");
          break;
        }
        if ((size_t)e * t * sh.k > B.x_elems || (size_t)e * t * sh.n > B.y_elems) continue;
        int reps = 0;
        double tu = bench_median_us(
            s,
            [&](int i) {
              gemm_bf16_batched(h, e, t, (int)sh.n, (int)sh.k, B.Wpool + (size_t)(i % copies) * wel, B.X, B.Y);
            },
            &reps);
        double tf = 2.0 * e * t * sh.n * sh.k / (tu * 1e-6) / 1e12;
        fprintf(f, "%d,%d,%lld,%lld,%.3f,%.2f,%d,%d,%s\n", e, t, sh.n, sh.k, tu, tf, reps, copies, sh.tag.c_str());
      }
      fflush(f);
    }
    printf("[probe] grouped %s n=%lld k=%lld done (%.0fs elapsed)\n", sh.tag.c_str(), sh.n, sh.k, elapsed_s());
    fflush(stdout);
  }
  fclose(f);
}

static void section_attn(const Options& o, cudaStream_t s, int sms) {
  FILE* f = open_csv(o, "decode_attention.csv", "batch,context,kv_heads,head_dim,time_us,gbps,splits,copies");
  std::vector<int> bs = {1, 8, 32, 128}, cs = {128, 512, 2048, 8192}, hs = {4, 8, 16};
  if (o.quick) {
    bs = {1, 32};
    cs = {512, 8192};
    hs = {8};
  }
  const int hd = 128;
  size_t max_elems = (size_t)bs.back() * cs.back() * hs.back() * hd;  // per K or V
  uint4 *K, *V;
  float *q, *out;
  CK(cudaMalloc(&K, max_elems * 2));
  CK(cudaMalloc(&V, max_elems * 2));
  CK(cudaMalloc(&q, (size_t)bs.back() * hs.back() * hd * sizeof(float)));
  CK(cudaMalloc(&out, (size_t)bs.back() * hs.back() * sizeof(float)));
  fill_bf16((bf16*)K, max_elems, 77, 1.0f, s);
  fill_bf16((bf16*)V, max_elems, 78, 1.0f, s);
  fill_random_f32<<<256, 256, 0, s>>>(q, (size_t)bs.back() * hs.back() * hd, 79);
  CK(cudaGetLastError());
  for (int b : bs)
    for (int c : cs)
      for (int kh : hs) {
        if (past_deadline()) {
          note_skip("decode_attention b=" + std::to_string(b) + " ctx=" + std::to_string(c) +
                    " kv_heads=" + std::to_string(kh) + ": time budget");
          continue;
        }
        size_t elems = (size_t)b * c * kh * hd;
        int copies = (int)std::max<size_t>(1, std::min<size_t>(32, max_elems / elems));
        int bh = b * kh;
        int splits = std::max(1, std::min(c / 16, (4 * sms + bh - 1) / bh));
        int rows = ((c + splits - 1) / splits + 15) / 16 * 16;
        splits = (c + rows - 1) / rows;
        dim3 grid(splits, kh, b);
        double t = bench_median_us(s, [&](int i) {
          size_t off = (size_t)(i % copies) * elems / 8;  // in uint4
          decode_kv_read<<<grid, 256, 0, s>>>(K + off, V + off, q, out, c, rows, kh);
        });
        double bytes = 2.0 * elems * 2;
        fprintf(f, "%d,%d,%d,%d,%.3f,%.1f,%d,%d\n", b, c, kh, hd, t, bytes / (t * 1e-6) / 1e9, splits, copies);
      }
  CK(cudaGetLastError());
  fclose(f);
  printf("[probe] decode attention KV read done (%.0fs elapsed)\n", elapsed_s());
  CK(cudaFree(K));
  CK(cudaFree(V));
  CK(cudaFree(q));
  CK(cudaFree(out));
}

#ifdef MOESIM_HAVE_NCCL
static void section_nccl(const Options& o, int ndev) {
  FILE* f = open_csv(o, "nccl.csv", "collective,gpus,bytes,time_us,busbw_gbps");
  if (ndev < 2) {
    printf("[probe] nccl: %d GPU on this host, nothing to measure\n", ndev);
    note_skip("nccl: only " + std::to_string(ndev) + " GPU on this host; collectives need 2 or more");
    fclose(f);
    return;
  }
  std::vector<int> counts;
  for (int p = 2; p <= ndev; p *= 2) counts.push_back(p);
  if (counts.back() != ndev) counts.push_back(ndev);
  const size_t maxb = (size_t)o.nccl_max_bytes;
  std::vector<size_t> sizes;
  for (size_t b = 1024; b <= maxb; b *= 4) sizes.push_back(b);
  const char* colls[] = {"all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv"};
  for (int P : counts) {
    std::vector<int> devs(P);
    for (int i = 0; i < P; i++) devs[i] = i;
    std::vector<ncclComm_t> comms(P);
    CN(ncclCommInitAll(comms.data(), P, devs.data()));
    std::vector<cudaStream_t> st(P);
    std::vector<bf16*> sb(P), rb(P);
    for (int r = 0; r < P; r++) {
      CK(cudaSetDevice(r));
      CK(cudaStreamCreateWithFlags(&st[r], cudaStreamNonBlocking));
      CK(cudaMalloc(&sb[r], maxb));
      CK(cudaMalloc(&rb[r], maxb));
      fill_bf16(sb[r], maxb / 2, 1000 + r, 1.0f, st[r]);
      CK(cudaMemsetAsync(rb[r], 0, maxb, st[r]));
    }
    auto sync_all = [&]() {
      for (int r = 0; r < P; r++) {
        CK(cudaSetDevice(r));
        CK(cudaStreamSynchronize(st[r]));
      }
    };
    sync_all();
    for (const char* coll : colls) {
      std::string c = coll;
      for (size_t bytes : sizes) {
        if (past_deadline()) {
          note_skip("nccl " + c + " gpus=" + std::to_string(P) + " bytes>=" + std::to_string(bytes) + ": time budget");
          break;
        }
        size_t count = bytes / sizeof(bf16);  // nccl-tests' size: the per-rank buffer size
        size_t chunk = count / P;
        if (chunk == 0) continue;
        auto launch = [&]() {
          CN(ncclGroupStart());
          for (int r = 0; r < P; r++) {
            if (c == "all_reduce") {
              CN(ncclAllReduce(sb[r], rb[r], count, ncclBfloat16, ncclSum, comms[r], st[r]));
            } else if (c == "all_gather") {  // size = gathered (receive) buffer
              CN(ncclAllGather(sb[r], rb[r], chunk, ncclBfloat16, comms[r], st[r]));
            } else if (c == "reduce_scatter") {  // size = send buffer
              CN(ncclReduceScatter(sb[r], rb[r], chunk, ncclBfloat16, ncclSum, comms[r], st[r]));
            } else if (c == "all_to_all") {  // size = send buffer; chunk to each peer
              for (int p = 0; p < P; p++) {
                CN(ncclSend(sb[r] + p * chunk, chunk, ncclBfloat16, p, comms[r], st[r]));
                CN(ncclRecv(rb[r] + p * chunk, chunk, ncclBfloat16, p, comms[r], st[r]));
              }
            } else {  // send_recv: ring, each rank sends `bytes` to the next and receives from the previous
              CN(ncclSend(sb[r], count, ncclBfloat16, (r + 1) % P, comms[r], st[r]));
              CN(ncclRecv(rb[r], count, ncclBfloat16, (r + P - 1) % P, comms[r], st[r]));
            }
          }
          CN(ncclGroupEnd());
        };
        int iters = bytes <= (16u << 20) ? 20 : 5;
        for (int w = 0; w < 3; w++) launch();
        sync_all();
        std::vector<double> per;
        for (int trial = 0; trial < 3; trial++) {
          auto t0 = std::chrono::steady_clock::now();
          for (int i = 0; i < iters; i++) launch();
          sync_all();
          auto t1 = std::chrono::steady_clock::now();
          per.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / iters);
        }
        double t = median(per);
        // nccl-tests bus-bandwidth factors
        double algbw = bytes / (t * 1e-6) / 1e9, factor = 1.0;
        if (c == "all_reduce") factor = 2.0 * (P - 1) / P;
        if (c == "all_gather" || c == "reduce_scatter" || c == "all_to_all") factor = (double)(P - 1) / P;
        fprintf(f, "%s,%d,%zu,%.3f,%.2f\n", coll, P, bytes, t, algbw * factor);
      }
      fflush(f);
      printf("[probe] nccl %s on %d GPUs done (%.0fs elapsed)\n", coll, P, elapsed_s());
      fflush(stdout);
    }
    for (int r = 0; r < P; r++) {
      CK(cudaSetDevice(r));
      CK(cudaFree(sb[r]));
      CK(cudaFree(rb[r]));
      CK(cudaStreamDestroy(st[r]));
      ncclCommDestroy(comms[r]);
    }
  }
  CK(cudaSetDevice(o.device));
  fclose(f);
}
#endif

// ----------------------------------------------------------------------------------------------
// Main
// ----------------------------------------------------------------------------------------------

static void usage() {
  printf(
      "moesim-probe [--results-dir DIR] [--shapes probe/shapes.txt] [--grouped-shapes probe/grouped_shapes.txt]\n"
      "             [--skip check,launch,bandwidth,gemm,grouped,attn,nccl] [--time-budget-s 300] [--quick]\n"
      "             [--max-m 16384] [--nccl-max-bytes 1073741824] [--device 0]\n"
      "Writes CSV files and meta.json into DIR; python3 probe/make_profile.py DIR --out profile.json makes the\n"
      "moesim GPU profile (and, with 2+ GPUs, the interconnect profile).\n");
}

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s needs a value\n", a.c_str());
        exit(1);
      }
      return argv[++i];
    };
    if (a == "--results-dir") o.results_dir = next();
    else if (a == "--shapes") o.shapes = next();
    else if (a == "--grouped-shapes") o.grouped_shapes = next();
    else if (a == "--time-budget-s") o.time_budget_s = atof(next().c_str());
    else if (a == "--quick") o.quick = true;
    else if (a == "--max-m") o.max_m = atoll(next().c_str());
    else if (a == "--nccl-max-bytes") o.nccl_max_bytes = atoll(next().c_str());
    else if (a == "--device") o.device = atoi(next().c_str());
    else if (a == "--skip") {
      std::stringstream ss(next());
      std::string t;
      while (std::getline(ss, t, ',')) o.skip.insert(t);
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      fprintf(stderr, "unknown argument %s\n", a.c_str());
      usage();
      return 1;
    }
  }
  g_start = std::chrono::steady_clock::now();
  g_deadline = g_start + std::chrono::milliseconds((long long)(o.time_budget_s * 1000));
  run_cmd("mkdir -p '" + o.results_dir + "'");
  g_skipped = fopen((o.results_dir + "/skipped.txt").c_str(), "w");

  int ndev = 0;
  CK(cudaGetDeviceCount(&ndev));
  CK(cudaSetDevice(o.device));
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, o.device));
  int rt = 0, drv = 0;
  CK(cudaRuntimeGetVersion(&rt));
  CK(cudaDriverGetVersion(&drv));
  cublasHandle_t h;
  CB(cublasCreate(&h));
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  CB(cublasSetStream(h, s));
  int cublas_ver = 0;
  CB(cublasGetVersion(h, &cublas_ver));
  for (auto& e : g_ev) CK(cudaEventCreate(&e));
  std::string nccl_ver = "not built with NCCL";
#ifdef MOESIM_HAVE_NCCL
  {
    int v = 0;
    CN(ncclGetVersion(&v));
    nccl_ver = v >= 10000 ? version_str(v, 10000, 100) : version_str(v, 1000, 100);
  }
#endif
  std::string driver = run_cmd("nvidia-smi --query-gpu=driver_version --format=csv,noheader -i " +
                               std::to_string(o.device) + " 2>/dev/null");
  std::string smi = run_cmd(
      "nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,power.limit,pstate,"
      "temperature.gpu --format=csv,noheader -i " +
      std::to_string(o.device) + " 2>/dev/null");
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  char date[64];
  time_t now = time(nullptr);
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  unsigned cpus = std::thread::hardware_concurrency();

  {
    FILE* m = fopen((o.results_dir + "/meta.json").c_str(), "w");
    fprintf(m, "{\n");
    fprintf(m, "  \"gpu_name\": \"%s\",\n", json_escape(prop.name).c_str());
    fprintf(m, "  \"gpu_count\": %d,\n", ndev);
    fprintf(m, "  \"sm_count\": %d,\n", prop.multiProcessorCount);
    fprintf(m, "  \"l2_bytes\": %d,\n", prop.l2CacheSize);
    fprintf(m, "  \"memory_bytes\": %zu,\n", prop.totalGlobalMem);
    fprintf(m, "  \"compute_capability\": \"%d.%d\",\n", prop.major, prop.minor);
    fprintf(m, "  \"driver\": \"%s\",\n", json_escape(driver.empty() ? "unknown" : driver).c_str());
    fprintf(m, "  \"cuda_driver_api\": \"%s\",\n", version_str(drv, 1000, 10).c_str());
    fprintf(m, "  \"cuda_runtime\": \"%s\",\n", version_str(rt, 1000, 10).c_str());
    fprintf(m, "  \"cublas\": \"%s\",\n", version_str(cublas_ver, 10000, 100).c_str());
    fprintf(m, "  \"nccl\": \"%s\",\n", json_escape(nccl_ver).c_str());
    fprintf(m, "  \"nvidia_smi\": \"%s\",\n", json_escape(smi).c_str());
    fprintf(m, "  \"hostname\": \"%s\",\n", json_escape(host).c_str());
    fprintf(m, "  \"cpu_count\": %u,\n", cpus);
    fprintf(m, "  \"date_utc\": \"%s\",\n", date);
    fprintf(m, "  \"quick\": %s\n", o.quick ? "true" : "false");
    fprintf(m, "}\n");
    fclose(m);
  }
  printf("[probe] %s x%d, %d SMs, L2 %d MB, driver %s, CUDA runtime %s, cuBLAS %s, NCCL %s, %s\n", prop.name, ndev,
         prop.multiProcessorCount, prop.l2CacheSize >> 20, driver.c_str(), version_str(rt, 1000, 10).c_str(),
         version_str(cublas_ver, 10000, 100).c_str(), nccl_ver.c_str(), date);
  fflush(stdout);

  auto on = [&](const char* name) { return o.skip.count(name) == 0; };
  if (on("check")) section_check(o, h, s);
  if (on("launch")) section_launch(o, s);
  if (on("bandwidth")) section_bandwidth(o, s, prop.multiProcessorCount);

  if (on("gemm") || on("grouped")) {
    Buffers B;
    // Buffers sized from the shape lists: X up to max_m x max k, Y up to max_m x max n (LM head),
    // and a pool of random weights (at least 4 GiB) that the timed launches rotate through.
    size_t max_k = 1, max_n = 1, w_need = 1;
    for (const auto& sh : read_shapes(o.shapes)) {
      max_k = std::max(max_k, (size_t)sh.k);
      max_n = std::max(max_n, (size_t)sh.n);
      w_need = std::max(w_need, (size_t)(sh.n * sh.k));
    }
    size_t gx = 1, gy = 1;
    for (const auto& g : read_grouped(o.grouped_shapes)) {
      gx = std::max(gx, (size_t)(g.max_experts * 256LL * g.k));
      gy = std::max(gy, (size_t)(g.max_experts * 256LL * g.n));
      w_need = std::max(w_need, (size_t)(g.max_experts * g.n * g.k));
    }
    B.x_elems = std::max({(size_t)o.max_m * max_k, gx, (size_t)8192 * 8192});
    B.y_elems = std::max({(size_t)o.max_m * max_n, gy, (size_t)8192 * 8192});
    B.w_elems = std::max(w_need, (size_t)2 << 30);
    if (o.quick) {
      B.x_elems = std::min(B.x_elems, (size_t)64 << 20);
      B.y_elems = std::min(B.y_elems, (size_t)64 << 20);
      B.w_elems = std::min(B.w_elems, (size_t)256 << 20);
    }
    printf("[probe] GEMM buffers: X %.2f GB, Y %.2f GB, weight pool %.2f GB\n", B.x_elems * 2e-9, B.y_elems * 2e-9,
           B.w_elems * 2e-9);
    CK(cudaMalloc(&B.X, B.x_elems * sizeof(bf16)));
    CK(cudaMalloc(&B.Y, B.y_elems * sizeof(bf16)));
    CK(cudaMalloc(&B.Wpool, B.w_elems * sizeof(bf16)));
    fill_bf16(B.X, B.x_elems, 1, 1.0f, s);
    fill_bf16(B.Wpool, B.w_elems, 2, 0.05f, s);
    CK(cudaStreamSynchronize(s));
    if (on("gemm")) section_gemm(o, h, s, B);
    if (on("grouped")) section_grouped(o, h, s, B);
    CK(cudaFree(B.X));
    CK(cudaFree(B.Y));
    CK(cudaFree(B.Wpool));
  }
  if (on("attn")) section_attn(o, s, prop.multiProcessorCount);
#ifdef MOESIM_HAVE_NCCL
  if (on("nccl")) section_nccl(o, ndev);
#else
  if (on("nccl")) note_skip("nccl: moesim-probe was built without NCCL");
#endif
  CK(cudaDeviceSynchronize());
  printf("[probe] done in %.1f s; results in %s\n", elapsed_s(), o.results_dir.c_str());
  if (g_skipped) fclose(g_skipped);
  cublasDestroy(h);
  return 0;
}
