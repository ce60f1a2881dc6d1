/* The default pool (runtime/lib/pool.c) under stress: for 1..4 threads,
 * thousands of jobs of 1..300 iterations, some with a slow iteration so the
 * others steal, and one job of more than 2^24 iterations (posted in
 * pieces). Every iteration must run exactly once, with the task's context,
 * before parallel_for returns. Prints one line per thread count. */
#define _POSIX_C_SOURCE 200809L
#include "mafat/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct job {
  unsigned char *hits;
  int64_t n;
  int64_t slow; /* an iteration that takes a while, or -1 */
  int64_t outside;
};

static void task(void *ctx, int64_t begin, int64_t end) {
  struct job *job = (struct job *)ctx;
  if (begin < 0 || end > job->n || begin >= end) {
    __atomic_add_fetch(&job->outside, 1, __ATOMIC_RELAXED);
    return;
  }
  for (int64_t i = begin; i < end; ++i) {
    if (i == job->slow) {
      struct timespec pause = {0, 200000};
      nanosleep(&pause, NULL);
    }
    /* Each iteration is written by exactly one thread: no atomic needed,
     * and TSan reports it if two threads ever run the same one. */
    job->hits[i]++;
  }
}

static int check(const struct job *job) {
  if (job->outside)
    return 0;
  for (int64_t i = 0; i < job->n; ++i)
    if (job->hits[i] != 1)
      return 0;
  return 1;
}

int main(int argc, char **argv) {
  int big = argc > 1 && strcmp(argv[1], "--big") == 0;
  int64_t bigN = ((int64_t)1 << 24) + 3;
  unsigned char *hits = (unsigned char *)malloc((size_t)bigN);
  if (!hits)
    return 2;
  for (int threads = 1; threads <= 4; ++threads) {
    mafat_pool_t *pool = mafat_pool_create(threads);
    mafat_parallel_t parallel = mafat_pool_parallel(pool);
    int jobs = 0, bad = 0;
    for (int round = 0; round < 3000; ++round) {
      struct job job = {hits, 1 + (round * 7919) % 300,
                        round % 50 == 0 ? round % 7 : -1, 0};
      memset(hits, 0, (size_t)job.n);
      parallel.parallel_for(parallel.pool, job.n, task, &job);
      bad += !check(&job);
      ++jobs;
    }
    if (big) {
      struct job job = {hits, bigN, -1, 0};
      memset(hits, 0, (size_t)bigN);
      parallel.parallel_for(parallel.pool, bigN, task, &job);
      bad += !check(&job);
      ++jobs;
    }
    printf("pool-stress: %d threads, %d jobs, %d wrong\n", threads, jobs, bad);
    mafat_pool_destroy(pool);
  }
  free(hits);
  return 0;
}
