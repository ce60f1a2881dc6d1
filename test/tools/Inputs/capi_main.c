/* Drives a compiled model through its generated C header only: a static,
 * aligned workspace of exactly <NAME>_WORKSPACE_BYTES, two threads running
 * concurrently on two workspaces (reentrancy), bit-exact agreement with
 * single-threaded runs, and the documented status codes. */
#include "tiny_cnn.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define IN_N TINY_CNN_INPUT0_ELEMENTS
#define OUT_N TINY_CNN_OUTPUT0_ELEMENTS

static _Alignas(64) unsigned char workspace[2][TINY_CNN_WORKSPACE_BYTES + 64];
static float input[2][IN_N], output[2][OUT_N], expected[2][OUT_N];
static int mismatches[2];

static void *worker(void *arg) {
  int t = (int)(long)arg;
  for (int iter = 0; iter < 200; ++iter) {
    if (tiny_cnn_run(input[t], output[t], workspace[t], NULL) != 0 ||
        memcmp(output[t], expected[t], sizeof(expected[t])) != 0)
      ++mismatches[t];
  }
  return NULL;
}

int main(void) {
  unsigned seed = 12345;
  for (int t = 0; t < 2; ++t)
    for (unsigned long long i = 0; i < IN_N; ++i) {
      seed = seed * 1103515245u + 12345u;
      input[t][i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
  for (int t = 0; t < 2; ++t)
    if (tiny_cnn_run(input[t], expected[t], workspace[0], NULL) != 0) {
      printf("capi: run failed\n");
      return 1;
    }
  if (memcmp(expected[0], expected[1], sizeof(expected[0])) == 0) {
    printf("capi: different inputs gave the same output\n");
    return 1;
  }
  pthread_t threads[2];
  for (long t = 0; t < 2; ++t)
    pthread_create(&threads[t], NULL, worker, (void *)t);
  for (int t = 0; t < 2; ++t)
    pthread_join(threads[t], NULL);
  printf("capi: concurrent mismatches %d %d\n", mismatches[0], mismatches[1]);
  printf("capi: null input -> %d\n", (int)tiny_cnn_run(NULL, output[0], workspace[0], NULL));
  printf("capi: null workspace -> %d\n", (int)tiny_cnn_run(input[0], output[0], NULL, NULL));
  printf("capi: misaligned workspace -> %d\n",
         (int)tiny_cnn_run(input[0], output[0], workspace[0] + 4, NULL));
  printf("capi: workspace %llu bytes, align %llu\n",
         (unsigned long long)TINY_CNN_WORKSPACE_BYTES,
         (unsigned long long)TINY_CNN_WORKSPACE_ALIGN);
  return mismatches[0] || mismatches[1];
}
