/*===- pool.c - The default thread pool behind mafat_parallel_t -----------===*
 *
 * A pool of `threads` - 1 workers created once; the calling thread is the
 * last worker. A job (n iterations) is cut into min(4 * threads, n)
 * contiguous chunks of balanced size (sizes differ by at most one
 * iteration); threads claim chunks from one atomic ticket that
 * holds the job's generation, its chunk count and the next chunk, so a
 * worker that wakes late can never claim a chunk of a job it did not see
 * posted. Waiting threads spin for a short while (a model launches a
 * parallel loop per layer, every few tens of microseconds), then sleep on a
 * condition variable. Several chunks per thread let the threads that run
 * take over the work of one the OS has descheduled (a shared or
 * oversubscribed machine) instead of waiting for it.
 *
 * C99 with the GCC/Clang __atomic builtins (the runtime is built for every
 * target with clang) and POSIX threads.
 *
 *===----------------------------------------------------------------------===*/

#define _POSIX_C_SOURCE 200809L
#include "mafat/runtime.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

/* Spins before sleeping: about 50-100 us on current cores. */
#define MAFAT_POOL_SPINS 20000
/* Chunks per thread of one job. */
#define MAFAT_POOL_CHUNKS_PER_THREAD 4

#if defined(__x86_64__) || defined(__i386__)
#define MAFAT_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define MAFAT_PAUSE() __asm__ __volatile__("yield")
#else
#define MAFAT_PAUSE() ((void)0)
#endif

struct mafat_pool {
  int32_t threads;
  pthread_t *workers;
  pthread_mutex_t mutex;
  pthread_cond_t wake;
  /* ticket = generation << 32 | chunks << 16 | next chunk. */
  uint64_t ticket;
  int32_t sleepers;
  int32_t stop;
  int32_t pending; /* chunks of the current job not finished yet */
  /* The current job; written before its ticket is published. */
  int64_t n;
  mafat_task_fn task;
  void *task_ctx;
};

static uint32_t generationOf(uint64_t ticket) { return (uint32_t)(ticket >> 32); }

/* Claims and runs chunks of job `generation` until none is left. */
static void runChunks(struct mafat_pool *pool, uint32_t generation) {
  for (;;) {
    uint64_t t = __atomic_load_n(&pool->ticket, __ATOMIC_ACQUIRE);
    uint32_t chunks = (uint32_t)(t >> 16) & 0xffff, next = (uint32_t)t & 0xffff;
    if (generationOf(t) != generation || next >= chunks)
      return;
    if (!__atomic_compare_exchange_n(&pool->ticket, &t, t + 1, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      continue;
    /* The job cannot change while one of its chunks is unfinished. */
    int64_t begin = pool->n * next / chunks;
    int64_t end = pool->n * (next + 1) / chunks;
    if (begin < end)
      pool->task(pool->task_ctx, begin, end);
    __atomic_sub_fetch(&pool->pending, 1, __ATOMIC_ACQ_REL);
  }
}

static void *workerMain(void *arg) {
  struct mafat_pool *pool = (struct mafat_pool *)arg;
  uint32_t seen = 0;
  for (;;) {
    uint32_t generation = seen;
    for (int spin = 0; spin < MAFAT_POOL_SPINS; ++spin) {
      generation =
          generationOf(__atomic_load_n(&pool->ticket, __ATOMIC_ACQUIRE));
      if (generation != seen || __atomic_load_n(&pool->stop, __ATOMIC_ACQUIRE))
        break;
      MAFAT_PAUSE();
    }
    if (generation == seen) {
      pthread_mutex_lock(&pool->mutex);
      __atomic_add_fetch(&pool->sleepers, 1, __ATOMIC_SEQ_CST);
      for (;;) {
        generation =
            generationOf(__atomic_load_n(&pool->ticket, __ATOMIC_SEQ_CST));
        if (generation != seen || __atomic_load_n(&pool->stop, __ATOMIC_SEQ_CST))
          break;
        pthread_cond_wait(&pool->wake, &pool->mutex);
      }
      __atomic_sub_fetch(&pool->sleepers, 1, __ATOMIC_SEQ_CST);
      pthread_mutex_unlock(&pool->mutex);
    }
    if (__atomic_load_n(&pool->stop, __ATOMIC_ACQUIRE))
      return NULL;
    seen = generation;
    runChunks(pool, generation);
  }
}

static void poolParallelFor(void *opaque, int64_t n, mafat_task_fn task,
                            void *task_ctx) {
  struct mafat_pool *pool = (struct mafat_pool *)opaque;
  if (n <= 0)
    return;
  if (!pool || pool->threads <= 1 || n == 1) {
    task(task_ctx, 0, n);
    return;
  }
  int64_t most = (int64_t)pool->threads * MAFAT_POOL_CHUNKS_PER_THREAD;
  uint32_t chunks = (uint32_t)(n < most ? n : most);
  pool->n = n;
  pool->task = task;
  pool->task_ctx = task_ctx;
  __atomic_store_n(&pool->pending, (int32_t)chunks, __ATOMIC_RELAXED);
  uint32_t generation =
      generationOf(__atomic_load_n(&pool->ticket, __ATOMIC_RELAXED)) + 1;
  __atomic_store_n(&pool->ticket,
                   ((uint64_t)generation << 32) | ((uint64_t)chunks << 16),
                   __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&pool->sleepers, __ATOMIC_SEQ_CST) > 0) {
    pthread_mutex_lock(&pool->mutex);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
  }
  runChunks(pool, generation);
  /* Only chunks other threads are still running are left: short waits. */
  for (unsigned spin = 0;
       __atomic_load_n(&pool->pending, __ATOMIC_ACQUIRE) != 0; ++spin) {
    if (spin < MAFAT_POOL_SPINS / 8)
      MAFAT_PAUSE();
    else
      sched_yield();
  }
}

mafat_pool_t *mafat_pool_create(int32_t threads) {
  if (threads < 1 || threads > MAFAT_MAX_THREADS)
    return NULL;
  struct mafat_pool *pool = (struct mafat_pool *)calloc(1, sizeof *pool);
  if (!pool)
    return NULL;
  pool->threads = threads;
  if (pthread_mutex_init(&pool->mutex, NULL) != 0) {
    free(pool);
    return NULL;
  }
  if (pthread_cond_init(&pool->wake, NULL) != 0) {
    pthread_mutex_destroy(&pool->mutex);
    free(pool);
    return NULL;
  }
  if (threads > 1) {
    pool->workers = (pthread_t *)calloc((size_t)threads - 1, sizeof(pthread_t));
    if (!pool->workers) {
      pool->threads = 1;
      mafat_pool_destroy(pool);
      return NULL;
    }
    for (int32_t i = 0; i + 1 < threads; ++i) {
      if (pthread_create(&pool->workers[i], NULL, workerMain, pool) != 0) {
        pool->threads = i + 1; /* join the ones that started */
        mafat_pool_destroy(pool);
        return NULL;
      }
    }
  }
  return pool;
}

void mafat_pool_destroy(mafat_pool_t *pool) {
  if (!pool)
    return;
  pthread_mutex_lock(&pool->mutex);
  __atomic_store_n(&pool->stop, 1, __ATOMIC_SEQ_CST);
  pthread_cond_broadcast(&pool->wake);
  pthread_mutex_unlock(&pool->mutex);
  for (int32_t i = 0; pool->workers && i + 1 < pool->threads; ++i)
    pthread_join(pool->workers[i], NULL);
  free(pool->workers);
  pthread_cond_destroy(&pool->wake);
  pthread_mutex_destroy(&pool->mutex);
  free(pool);
}

int32_t mafat_pool_threads(const mafat_pool_t *pool) {
  return pool ? pool->threads : 1;
}

mafat_parallel_t mafat_pool_parallel(mafat_pool_t *pool) {
  mafat_parallel_t parallel;
  parallel.parallel_for = poolParallelFor;
  parallel.pool = pool;
  return parallel;
}
