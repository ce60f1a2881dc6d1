/*===- pool.c - The default thread pool behind mafat_parallel_t -----------===*
 *
 * A pool of `threads` - 1 workers created once; the calling thread is
 * thread 0. A job of n iterations is cut into one contiguous range per
 * thread (sizes differ by at most one iteration). Each thread takes
 * iterations from the front of its own range, then steals from the back of
 * the others' ranges (XNNPACK's pthreadpool does the same): in the common
 * case every atomic a thread touches sits in its own cache line, so a
 * launch costs a few cache-line transfers, not one contended atomic per
 * chunk; a thread the OS has descheduled (a shared or oversubscribed
 * machine) has its range finished by the others instead of stalling them.
 *
 * A range is one 64-bit word, generation << 48 | begin << 24 | end, so a
 * worker that wakes late can never take an iteration of a job it did not
 * see posted. Jobs of 2^24 iterations or more are posted in pieces. The
 * caller waits until every iteration has run: each thread subtracts what
 * it ran from `pending` once per job.
 *
 * Waiting workers spin for a short while (a model launches a parallel loop
 * per layer step, every few microseconds), then sleep on a condition
 * variable.
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
#define MAFAT_POOL_LINE 64
#define MAFAT_POOL_INDEX_BITS 24
#define MAFAT_POOL_INDEX_MASK ((1u << MAFAT_POOL_INDEX_BITS) - 1)
#define MAFAT_POOL_GENERATION_MASK 0xffffu

#if defined(__x86_64__) || defined(__i386__)
#define MAFAT_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define MAFAT_PAUSE() __asm__ __volatile__("yield")
#else
#define MAFAT_PAUSE() ((void)0)
#endif

/* One thread's range of the current job, alone in its cache line. */
struct mafat_pool_range {
  uint64_t word __attribute__((aligned(MAFAT_POOL_LINE)));
};

struct mafat_pool {
  int32_t threads;
  pthread_t *workers;
  struct mafat_pool_range *ranges; /* one per thread */
  pthread_mutex_t mutex;
  pthread_cond_t wake;
  /* The current job; written before its generation is published. */
  int64_t base; /* iteration 0 of the posted piece */
  mafat_task_fn task;
  void *task_ctx;
  /* Written by the caller, read by the spinning workers. */
  uint32_t generation __attribute__((aligned(MAFAT_POOL_LINE)));
  int32_t stop;
  int32_t sleepers;
  /* Iterations of the current job not run yet. */
  int64_t pending __attribute__((aligned(MAFAT_POOL_LINE)));
};

struct mafat_pool_worker {
  struct mafat_pool *pool;
  int32_t index;
};

static uint64_t packRange(uint32_t generation, uint32_t begin, uint32_t end) {
  return (uint64_t)(generation & MAFAT_POOL_GENERATION_MASK) << 48 |
         (uint64_t)begin << MAFAT_POOL_INDEX_BITS | end;
}
static uint32_t rangeGeneration(uint64_t w) { return (uint32_t)(w >> 48); }
static uint32_t rangeBegin(uint64_t w) {
  return (uint32_t)(w >> MAFAT_POOL_INDEX_BITS) & MAFAT_POOL_INDEX_MASK;
}
static uint32_t rangeEnd(uint64_t w) {
  return (uint32_t)w & MAFAT_POOL_INDEX_MASK;
}

/* Takes one iteration of job `generation` from `range`: from the front when
 * it is the thread's own, else from the back. Returns -1 when none is left. */
static int64_t take(struct mafat_pool_range *range, uint32_t generation,
                    int own) {
  uint64_t w = __atomic_load_n(&range->word, __ATOMIC_ACQUIRE);
  for (;;) {
    uint32_t begin = rangeBegin(w), end = rangeEnd(w);
    if (rangeGeneration(w) != (generation & MAFAT_POOL_GENERATION_MASK) ||
        begin >= end)
      return -1;
    uint64_t next = own ? packRange(generation, begin + 1, end)
                        : packRange(generation, begin, end - 1);
    if (__atomic_compare_exchange_n(&range->word, &w, next, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return own ? begin : end - 1;
  }
}

/* Runs iterations of job `generation`: the thread's own range, then the
 * others'. */
static void runJob(struct mafat_pool *pool, int32_t self,
                   uint32_t generation) {
  int64_t ran = 0;
  for (int32_t k = 0; k < pool->threads; ++k) {
    int32_t victim = (self + k) % pool->threads;
    for (int64_t i; (i = take(&pool->ranges[victim], generation, k == 0)) >= 0;
         ++ran) {
      /* The job cannot change while one of its iterations is pending. */
      int64_t at = pool->base + i;
      pool->task(pool->task_ctx, at, at + 1);
    }
  }
  if (ran)
    __atomic_sub_fetch(&pool->pending, ran, __ATOMIC_ACQ_REL);
}

static void *workerMain(void *arg) {
  struct mafat_pool_worker *worker = (struct mafat_pool_worker *)arg;
  struct mafat_pool *pool = worker->pool;
  uint32_t seen = 0;
  for (;;) {
    uint32_t generation = seen;
    for (int spin = 0; spin < MAFAT_POOL_SPINS; ++spin) {
      generation = __atomic_load_n(&pool->generation, __ATOMIC_ACQUIRE);
      if (generation != seen || __atomic_load_n(&pool->stop, __ATOMIC_ACQUIRE))
        break;
      MAFAT_PAUSE();
    }
    if (generation == seen) {
      pthread_mutex_lock(&pool->mutex);
      __atomic_add_fetch(&pool->sleepers, 1, __ATOMIC_SEQ_CST);
      for (;;) {
        generation = __atomic_load_n(&pool->generation, __ATOMIC_SEQ_CST);
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
    runJob(pool, worker->index, generation);
  }
}

/* Posts iterations [base, base + n) (n < 2^24) and runs them with the
 * workers. */
static void runPiece(struct mafat_pool *pool, int64_t base, int64_t n,
                     mafat_task_fn task, void *task_ctx) {
  pool->base = base;
  pool->task = task;
  pool->task_ctx = task_ctx;
  __atomic_store_n(&pool->pending, n, __ATOMIC_RELAXED);
  uint32_t generation =
      __atomic_load_n(&pool->generation, __ATOMIC_RELAXED) + 1;
  int32_t threads = pool->threads;
  for (int32_t t = 0; t < threads; ++t)
    __atomic_store_n(&pool->ranges[t].word,
                     packRange(generation, (uint32_t)(n * t / threads),
                               (uint32_t)(n * (t + 1) / threads)),
                     __ATOMIC_RELAXED);
  __atomic_store_n(&pool->generation, generation, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&pool->sleepers, __ATOMIC_SEQ_CST) > 0) {
    pthread_mutex_lock(&pool->mutex);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
  }
  runJob(pool, 0, generation);
  /* Only iterations other threads are still running are left. */
  for (unsigned spin = 0;
       __atomic_load_n(&pool->pending, __ATOMIC_ACQUIRE) != 0; ++spin) {
    if (spin < MAFAT_POOL_SPINS / 8)
      MAFAT_PAUSE();
    else
      sched_yield();
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
  const int64_t piece = MAFAT_POOL_INDEX_MASK;
  for (int64_t base = 0; base < n; base += piece)
    runPiece(pool, base, n - base < piece ? n - base : piece, task, task_ctx);
}

mafat_pool_t *mafat_pool_create(int32_t threads) {
  if (threads < 1 || threads > MAFAT_MAX_THREADS)
    return NULL;
  struct mafat_pool *pool = NULL;
  if (posix_memalign((void **)&pool, MAFAT_POOL_LINE, sizeof *pool) != 0)
    return NULL;
  *pool = (struct mafat_pool){0};
  pool->threads = threads;
  if (posix_memalign((void **)&pool->ranges, MAFAT_POOL_LINE,
                     (size_t)threads * sizeof *pool->ranges) != 0) {
    free(pool);
    return NULL;
  }
  for (int32_t t = 0; t < threads; ++t)
    pool->ranges[t].word = 0;
  if (pthread_mutex_init(&pool->mutex, NULL) != 0) {
    free(pool->ranges);
    free(pool);
    return NULL;
  }
  if (pthread_cond_init(&pool->wake, NULL) != 0) {
    pthread_mutex_destroy(&pool->mutex);
    free(pool->ranges);
    free(pool);
    return NULL;
  }
  if (threads > 1) {
    /* Worker i's argument lives right after its pthread_t. */
    pool->workers = (pthread_t *)calloc((size_t)threads - 1,
                                        sizeof(pthread_t) +
                                            sizeof(struct mafat_pool_worker));
    if (!pool->workers) {
      pool->threads = 1;
      mafat_pool_destroy(pool);
      return NULL;
    }
    struct mafat_pool_worker *args =
        (struct mafat_pool_worker *)(pool->workers + (threads - 1));
    for (int32_t i = 0; i + 1 < threads; ++i) {
      args[i].pool = pool;
      args[i].index = i + 1;
      if (pthread_create(&pool->workers[i], NULL, workerMain, &args[i]) != 0) {
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
  free(pool->ranges);
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
