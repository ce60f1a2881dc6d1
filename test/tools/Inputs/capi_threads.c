/* A model compiled with --threads=2, driven from C with the caller's
 * threads: mafat's default pool (mafat/runtime.h), a hand-written
 * parallel-for that runs the chunks in reverse on one thread, and NULL
 * (serial) must give bit-identical outputs; two model instances, each on
 * its own OS thread with its own pool and workspace, must too. The counting
 * parallel-for proves the model really launches parallel loops. */
#include "tiny_cnn.h"

#include "mafat/runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define IN_N TINY_CNN_INPUT0_ELEMENTS
#define OUT_N TINY_CNN_OUTPUT0_ELEMENTS

static _Alignas(64) unsigned char workspace[2][TINY_CNN_WORKSPACE_BYTES + 64];
static float input[IN_N], serial[OUT_N], output[2][OUT_N];
static int mismatches[2];
static long launches, iterations;

/* Runs [0, n) in three uneven pieces, last first, on the calling thread. */
static void reverseFor(void *pool, int64_t n, mafat_task_fn task, void *ctx) {
  (void)pool;
  int64_t a = n / 3, b = n - n / 4;
  ++launches;
  iterations += n;
  task(ctx, b, n);
  task(ctx, a, b);
  task(ctx, 0, a);
}

static void *worker(void *arg) {
  int t = (int)(long)arg;
  mafat_pool_t *pool = mafat_pool_create(2);
  mafat_parallel_t parallel = mafat_pool_parallel(pool);
  for (int iter = 0; iter < 100; ++iter) {
    memset(output[t], 0xff, sizeof(output[t]));
    if (tiny_cnn_run(input, output[t], workspace[t], &parallel) != 0 ||
        memcmp(output[t], serial, sizeof(serial)) != 0)
      ++mismatches[t];
  }
  mafat_pool_destroy(pool);
  return NULL;
}

int main(void) {
  unsigned seed = 12345;
  for (unsigned long long i = 0; i < IN_N; ++i) {
    seed = seed * 1103515245u + 12345u;
    input[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  if (tiny_cnn_run(input, serial, workspace[0], NULL) != 0)
    return 1;

  mafat_parallel_t reverse = {reverseFor, NULL};
  if (tiny_cnn_run(input, output[0], workspace[0], &reverse) != 0)
    return 1;
  printf("capi-threads: reverse order identical %d\n",
         memcmp(output[0], serial, sizeof(serial)) == 0);
  printf("capi-threads: launches %s\n", launches > 0 ? "yes" : "no");
  printf("capi-threads: compiled for %d threads\n", TINY_CNN_THREADS);

  /* A parallel_for of NULL also runs serially. */
  mafat_parallel_t none = {NULL, NULL};
  memset(output[0], 0xff, sizeof(output[0]));
  tiny_cnn_run(input, output[0], workspace[0], &none);
  printf("capi-threads: null parallel_for identical %d\n",
         memcmp(output[0], serial, sizeof(serial)) == 0);

  pthread_t threads[2];
  for (long t = 0; t < 2; ++t)
    pthread_create(&threads[t], NULL, worker, (void *)t);
  for (int t = 0; t < 2; ++t)
    pthread_join(threads[t], NULL);
  printf("capi-threads: two instances on two pools, mismatches %d %d\n",
         mismatches[0], mismatches[1]);
  printf("capi-threads: pool of 3 has %d threads, pool of 0 is %s\n",
         (int)mafat_pool_threads(mafat_pool_create(3)),
         mafat_pool_create(0) ? "not NULL" : "NULL");
  return mismatches[0] || mismatches[1];
}
