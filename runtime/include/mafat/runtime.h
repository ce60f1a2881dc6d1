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

#define MAFAT_ABI_VERSION 1

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

/* Runs the model once. inputs[i] / outputs[i] point at dense row-major
 * buffers of the shapes described; workspace points at workspace_bytes bytes
 * aligned to workspace_align. Reentrant: no global state, so two workspaces
 * may run concurrently on two threads. Single-threaded. Never allocates. */
typedef int32_t (*mafat_run_fn)(void *const *inputs, void *const *outputs,
                                void *workspace);

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
} mafat_model_t;

/* Exported by every compiled model (object, shared library, executable). */
const mafat_model_t *mafat_model(void);

/* The generic driver behind mafat-run and --emit=exe executables:
 * parses argv (see mafat-run --help) and runs `model`. */
int mafat_driver_main(int argc, char **argv, const mafat_model_t *model);

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
