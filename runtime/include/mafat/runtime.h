/*===- mafat/runtime.h - The C ABI of mafat-compiled models ---------------===*
 *
 * Every model mafat-compile emits exports, besides its typed run function
 * declared in its own generated header, one self-description:
 *
 *   const mafat_model_t *mafat_model(void);
 *
 * so a generic driver (mafat-run, the --emit=exe executables) can load any
 * model, check inputs, size the workspace and run it. Plain C99, shared by
 * the generated code, the runtime and the tools.
 *
 *===----------------------------------------------------------------------===*/
#ifndef MAFAT_RUNTIME_H
#define MAFAT_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2: run functions take the caller's parallel-for (mafat_parallel_t);
 *    mafat_model_t gained `threads`. */
#define MAFAT_ABI_VERSION 2

/* The most threads a model may be compiled for (mafat-compile --threads). */
#define MAFAT_MAX_THREADS 256

/* Element types (numpy dtype in parentheses). */
enum mafat_dtype { MAFAT_F32 = 1 /* <f4 */ };

/* Status codes returned by a model's run function. */
enum mafat_status {
  MAFAT_OK = 0,
  MAFAT_ERR_NULL_ARGUMENT = 1,     /* an input, output or workspace is NULL */
  MAFAT_ERR_MISALIGNED_WORKSPACE = 2 /* workspace not aligned as declared */
};

typedef struct mafat_tensor_desc {
  const char *name;     /* e.g. "input0" */
  int32_t dtype;        /* enum mafat_dtype */
  int32_t rank;
  const int64_t *shape; /* rank entries, row-major, dense */
  const char *layout;   /* "NHWC", "NCHW", "NC", ... */
} mafat_tensor_desc_t;

/* Threads belong to the caller. A model compiled with --threads=N splits
 * its layers into parallel loops; it runs each one by calling
 *
 *   parallel->parallel_for(parallel->pool, n, task, task_ctx)
 *
 * which must call task(task_ctx, begin, end) for disjoint ranges covering
 * [0, n) exactly once each - on any threads, in any grouping - and return
 * when all have returned. The model itself never creates a thread. A NULL
 * `parallel` (or NULL parallel_for) runs everything on the calling thread,
 * with the same results: every thread count gives bit-identical outputs.
 * mafat_pool_* below is a ready implementation. */
typedef void (*mafat_task_fn)(void *task_ctx, int64_t begin, int64_t end);
typedef struct mafat_parallel {
  void (*parallel_for)(void *pool, int64_t n, mafat_task_fn task,
                       void *task_ctx);
  void *pool;
} mafat_parallel_t;

/* Runs the model once. inputs[i] / outputs[i] point at dense row-major
 * buffers of the shapes described; workspace points at workspace_bytes bytes
 * aligned to workspace_align; parallel may be NULL (serial). Reentrant: no
 * global state, so two workspaces may run concurrently on two threads.
 * Never allocates. */
typedef int32_t (*mafat_run_fn)(void *const *inputs, void *const *outputs,
                                void *workspace,
                                const mafat_parallel_t *parallel);

typedef struct mafat_model {
  uint32_t abi_version;     /* MAFAT_ABI_VERSION */
  const char *name;         /* the model's entry name */
  const char *target;       /* target triple it was compiled for */
  uint64_t workspace_bytes; /* exact, decided at compile time */
  uint64_t workspace_align;
  uint64_t naive_bytes;     /* sum of the buffers the workspace replaced */
  uint64_t weight_bytes;    /* bytes of constant weights in the binary */
  uint64_t stack_bound_bytes; /* bound on the stack the run function uses */
  int32_t num_inputs;
  int32_t num_outputs;
  const mafat_tensor_desc_t *inputs;
  const mafat_tensor_desc_t *outputs;
  mafat_run_fn run;
  int32_t threads;          /* threads the plan was made for (>= 1) */
} mafat_model_t;

/* Exported by every compiled model (object, shared library, executable). */
const mafat_model_t *mafat_model(void);

/* The generic driver behind mafat-run and --emit=exe executables:
 * parses argv (see mafat-run --help) and runs `model`. */
int mafat_driver_main(int argc, char **argv, const mafat_model_t *model);

/* The default thread pool: `threads` - 1 worker threads created once
 * (the caller is the last), reused by every parallel_for, joined by
 * mafat_pool_destroy. Each thread gets a contiguous range (sizes differ by
 * at most one iteration) and steals from the others' when done. Waiting
 * workers spin briefly, then sleep. One pool runs one parallel_for at a time: give each thread that
 * runs models concurrently its own pool (or none). Returns NULL if threads
 * is out of range (1..MAFAT_MAX_THREADS) or a thread cannot be created. */
typedef struct mafat_pool mafat_pool_t;
mafat_pool_t *mafat_pool_create(int32_t threads);
void mafat_pool_destroy(mafat_pool_t *pool);
int32_t mafat_pool_threads(const mafat_pool_t *pool);
/* The pool as the `parallel` argument of a run function. */
mafat_parallel_t mafat_pool_parallel(mafat_pool_t *pool);

/* Group profiling (mafat-compile --profile-groups; mafat-run --profile).
 * A profiled model calls the hook, when it is not NULL, once before each
 * fusion group of its plan, with the group's index (execution order from 0)
 * and name, and once at the end of the run with index = number of groups
 * and name NULL; group i took the time between calls i and i + 1. Names are
 * constant strings of the model. The hook is a weak global of the model,
 * NULL until someone sets it: whoever runs the model sets it, rather than
 * the model calling a function of the driver, because a model loaded with
 * dlopen cannot bind to a symbol of the executable that loads it unless
 * that executable exports its symbols. mafat-run finds it in the loaded
 * library with dlsym; a program linked with the model sets it directly.
 * Global state: a profiled run is not reentrant. Unprofiled models do not
 * define the symbol (this declaration adds no reference by itself). */
typedef void (*mafat_profile_fn)(int32_t group, const char *name);
extern mafat_profile_fn mafat_profile_hook;
#define MAFAT_PROFILE_HOOK_SYMBOL "mafat_profile_hook"

#ifdef __cplusplus
}
#endif

#endif /* MAFAT_RUNTIME_H */
