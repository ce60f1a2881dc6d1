/* Single-core f32 FMA peak: CHAINS independent vector FMA dependency chains.
 *
 * Build (bench/conv_rate.py does this):
 *   clang -O2 -mavx512f -mfma peak_fma.c -o peak_fma   (CPUs with AVX-512F)
 *   clang -O2 -mavx2 -mfma    peak_fma.c -o peak_fma   (otherwise)
 *   clang -O2                 peak_fma.c -o peak_fma   (aarch64: NEON)
 * Run:  ./peak_fma [ITERATIONS [REPEATS]]
 * Prints the best GFLOP/s over REPEATS timed runs (one FMA = 2 FLOPs).
 *
 * Each chain is acc = acc * m + c. An FMA has a latency of 4-5 cycles and
 * most cores issue 2 per cycle, so at least ~10 chains are needed to keep
 * the FMA units busy; more chains than that cost nothing as long as they
 * stay in registers. AVX-512 and NEON have 32 vector registers (24 chains
 * plus the two operands fit), AVX2 only 16 (12 chains fit without spills).
 * m is slightly below 1, so every chain converges to c / (1 - m): no
 * overflow, no denormals, and the result is printed so nothing is dead.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
#include <immintrin.h>
typedef __m512 vec;
#define LANES 16
#define ISA "avx512f"
#define VSET1(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c) /* a*b + c */
#define VADD(a, b) _mm512_add_ps(a, b)
static float vsum(vec v) { return _mm512_reduce_add_ps(v); }
#ifndef CHAINS
#define CHAINS 24
#endif
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
typedef __m256 vec;
#define LANES 8
#define ISA "avx2+fma"
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VADD(a, b) _mm256_add_ps(a, b)
static float vsum(vec v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#ifndef CHAINS
#define CHAINS 12
#endif
#elif defined(__aarch64__)
#include <arm_neon.h>
typedef float32x4_t vec;
#define LANES 4
#define ISA "neon"
#define VSET1(x) vdupq_n_f32(x)
#define VFMA(a, b, c) vfmaq_f32(c, a, b) /* c + a*b */
#define VADD(a, b) vaddq_f32(a, b)
static float vsum(vec v) { return vaddvq_f32(v); }
#ifndef CHAINS
#define CHAINS 24
#endif
#else
#error "peak_fma.c needs AVX-512F, AVX2+FMA or aarch64 NEON"
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#if CHAINS < 1 || CHAINS > 32
#error "CHAINS must be 1..32"
#endif

/* The chains are separate named variables (not an array), so they live in
 * registers; a chain j >= CHAINS is a compile-time dead branch. */
#define FOR32(X)                                                                                   \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)      \
      X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30) X(31)
#define DECL(j) vec a##j = VSET1(seed + 0.001f * (j));
#define STEP(j)                                                                                    \
  if ((j) < CHAINS)                                                                                \
    a##j = VFMA(a##j, m, c);
#define SUM(j)                                                                                     \
  if ((j) < CHAINS)                                                                                \
    s = VADD(s, a##j);

/* noinline so the loop is compiled once, on its own. */
__attribute__((noinline)) static float kernel(long iters, float seed) {
  FOR32(DECL)
  vec m = VSET1(0.9999999f), c = VSET1(1e-7f);
  for (long i = 0; i < iters; ++i) {
    FOR32(STEP)
  }
  vec s = VSET1(0.0f);
  FOR32(SUM)
  return vsum(s);
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 20000000L;
  int repeats = argc > 2 ? atoi(argv[2]) : 5;
  if (iters <= 0 || repeats <= 0) {
    fprintf(stderr, "usage: %s [ITERATIONS [REPEATS]]\n", argv[0]);
    return 2;
  }
  double flops = 2.0 * LANES * CHAINS * (double)iters;
  double best = 0.0;
  float sink = 0.0f;
  kernel(iters / 10 + 1, 1.0f); /* warm up: clocks, page faults */
  for (int r = 0; r < repeats; ++r) {
    double t0 = now();
    sink += kernel(iters, 1.0f + r);
    double dt = now() - t0;
    double g = flops / dt * 1e-9;
    if (g > best)
      best = g;
  }
  printf("isa=%s lanes=%d chains=%d iters=%ld best_gflops=%.3f checksum=%g\n", ISA, LANES, CHAINS,
         iters, best, (double)sink);
  return 0;
}
