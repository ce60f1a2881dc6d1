/*===- driver.c - Generic driver for mafat-compiled models ----------------===*
 *
 * mafat_driver_main: the command line shared by mafat-run (model loaded with
 * dlopen) and --emit=exe executables (model linked in). It only relies on
 * the mafat_model_t self-description, so one driver serves every model and
 * both targets. Plain C99 + POSIX so it cross-compiles without a C++ runtime.
 *
 *===----------------------------------------------------------------------===*/
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign in C99 */
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr, RTLD_NOLOAD: finding a profiled model's hook */
#endif

#include "mafat/npy.h"
#include "mafat/runtime.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Exit codes, documented in --help. */
enum {
  kExitOk = 0,
  kExitFailure = 1, /* I/O or allocation failure */
  kExitUsage = 2,   /* bad flags, ABI/shape/dtype mismatch */
  kExitRun = 3      /* the model's run function returned non-zero */
};

/* Inputs/outputs are aligned for SIMD even though the ABI does not ask. */
enum { kIoAlign = 64 };

static const char kDefaultProg[] = "mafat-model";

/* --help is handled before the model is looked at, so wrappers such as
 * mafat-run can print this text with model == NULL. */
static void printUsage(FILE *out, const char *prog) {
  if (!prog || !*prog)
    prog = kDefaultProg;
  fprintf(out,
          "usage: %s [--input FILE.npy ...] [--output FILE.npy ...]\n"
          "       [--repeat N] [--warmup N] [--threads N] [--json] [--seed S]\n"
      "       [--profile]\n"
          "       [--help]\n",
          prog);
  fputs(
      "\n"
      "Runs a mafat-compiled model and reports latency and memory use.\n"
      "\n"
      "  --input FILE.npy   One per model input, in the model's input order\n"
      "                     (also --input=FILE.npy). Each must be a C-order\n"
      "                     little-endian float32 ('<f4') .npy file of\n"
      "                     exactly the declared shape. Give all or none.\n"
      "  --output FILE.npy  One per model output, in the model's output\n"
      "                     order (also --output=FILE.npy), written as '<f4'\n"
      "                     .npy after the last timed run. Give all or none.\n"
      "  --repeat N         Timed runs (default 5, at least 1).\n"
      "  --warmup N         Untimed runs before timing (default 1).\n"
      "  --threads N        Threads to run on (default: what the model was\n"
      "                     compiled for, mafat-compile --threads). Fewer\n"
      "                     or more give the same outputs, bit for bit.\n"
      "  --json             Print exactly one JSON object on stdout instead\n"
      "                     of the text report (latency, memory, shapes, and\n"
      "                     per-output \"sum\"/\"absmax\" checksums).\n"
      "  --seed S           Seed for the random inputs (default 42).\n"
      "  --profile          Also time every fusion group of a model compiled\n"
      "                     with mafat-compile --profile-groups: per group,\n"
      "                     its name and its least, median and mean time\n"
      "                     over the timed runs (\"groups\" in --json).\n"
      "  --help             Show this help.\n"
      "\n"
      "Without --input, inputs are deterministic pseudo-random floats in\n"
      "[-1, 1): one splitmix64 stream seeded with S is drawn once per\n"
      "element, inputs in model order, elements in row-major order, and a\n"
      "64-bit draw r becomes the float (r >> 40) * 2^-23 - 1.\n"
      "\n"
      "Exit status: 0 success; 1 I/O or allocation failure; 2 usage error or\n"
      "input/ABI mismatch; 3 the model's run function returned non-zero.\n",
      out);
}

/*===-- Small helpers -----------------------------------------------------===*/

typedef struct {
  const char **inputs;
  int num_inputs;
  const char **outputs;
  int num_outputs;
  long repeat;
  long warmup;
  int json;
  int help;
  int profile;
  long threads; /* 0: what the model was compiled for */
  uint64_t seed;
} Options;

/* Matches "--name VALUE" and "--name=VALUE". Returns 1 and sets *value on a
 * match, 0 if argv[*i] is another flag, -1 if the value is missing. */
static int matchValue(int argc, char **argv, int *i, const char *name,
                      const char **value) {
  const char *arg = argv[*i];
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0)
    return 0;
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return 1;
  }
  if (arg[n] != '\0')
    return 0;
  if (*i + 1 >= argc)
    return -1;
  *value = argv[++*i];
  return 1;
}

static int parseLong(const char *text, long min, long *out) {
  char *end;
  long v;
  errno = 0;
  v = strtol(text, &end, 10);
  if (errno || end == text || *end != '\0' || v < min)
    return 0;
  *out = v;
  return 1;
}

static int parseU64(const char *text, uint64_t *out) {
  char *end;
  unsigned long long v;
  if (*text == '-')
    return 0;
  errno = 0;
  v = strtoull(text, &end, 0); /* 0: accept 0x... too */
  if (errno || end == text || *end != '\0')
    return 0;
  *out = (uint64_t)v;
  return 1;
}

static int usageError(const char *prog, const char *fmt, const char *arg) {
  fprintf(stderr, "%s: error: ", prog);
  fprintf(stderr, fmt, arg);
  fputs("\n", stderr);
  printUsage(stderr, prog);
  return kExitUsage;
}

#if MAFAT_MAX_THREADS != 256
#error "update the --threads message"
#endif

/* Returns kExitOk or kExitUsage (after printing the usage). */
static int parseOptions(int argc, char **argv, const char *prog, Options *opt) {
  int i;
  for (i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    const char *value = NULL;
    int m;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      opt->help = 1;
      continue;
    }
    if (strcmp(arg, "--json") == 0) {
      opt->json = 1;
      continue;
    }
    if (strcmp(arg, "--profile") == 0) {
      opt->profile = 1;
      continue;
    }
    if ((m = matchValue(argc, argv, &i, "--input", &value)) != 0) {
      if (m < 0)
        return usageError(prog, "missing file after '%s'", arg);
      opt->inputs[opt->num_inputs++] = value;
      continue;
    }
    if ((m = matchValue(argc, argv, &i, "--output", &value)) != 0) {
      if (m < 0)
        return usageError(prog, "missing file after '%s'", arg);
      opt->outputs[opt->num_outputs++] = value;
      continue;
    }
    if ((m = matchValue(argc, argv, &i, "--repeat", &value)) != 0) {
      if (m < 0)
        return usageError(prog, "missing count after '%s'", arg);
      if (!parseLong(value, 1, &opt->repeat))
        return usageError(prog, "--repeat needs an integer >= 1, got '%s'",
                          value);
      continue;
    }
    if ((m = matchValue(argc, argv, &i, "--warmup", &value)) != 0) {
      if (m < 0)
        return usageError(prog, "missing count after '%s'", arg);
      if (!parseLong(value, 0, &opt->warmup))
        return usageError(prog, "--warmup needs an integer >= 0, got '%s'",
                          value);
      continue;
    }
    if ((m = matchValue(argc, argv, &i, "--threads", &value)) != 0) {
      if (m < 0)
        return usageError(prog, "missing value after '%s'", arg);
      if (!parseLong(value, 1, &opt->threads) ||
          opt->threads > MAFAT_MAX_THREADS)
        return usageError(prog,
                          "--threads needs an integer from 1 to "
                          "256, got '%s'",
                          value);
      continue;
    }
    if ((m = matchValue(argc, argv, &i, "--seed", &value)) != 0) {
      if (m < 0)
        return usageError(prog, "missing value after '%s'", arg);
      if (!parseU64(value, &opt->seed))
        return usageError(prog, "--seed needs an unsigned integer, got '%s'",
                          value);
      continue;
    }
    if (arg[0] == '-')
      return usageError(prog, "unknown flag '%s'", arg);
    return usageError(prog, "unexpected argument '%s'", arg);
  }
  return kExitOk;
}

/* splitmix64: tiny, full-period, and trivially reproducible from Python, so
 * scripts can regenerate the exact inputs of a run from its seed. */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static void fillRandom(float *data, uint64_t count, uint64_t *state) {
  uint64_t i;
  /* 24 random bits scaled to [0, 2) then shifted: exact in float. */
  for (i = 0; i < count; ++i)
    data[i] =
        (float)((double)(splitmix64(state) >> 40) * (1.0 / 8388608.0) - 1.0);
}

static void *alignedAlloc(uint64_t bytes, uint64_t align) {
  void *p = NULL;
  /* A zero-byte request still yields a distinct non-NULL pointer because
   * models reject NULL buffers. */
  size_t size = bytes ? (size_t)bytes : (size_t)align;
  if (posix_memalign(&p, (size_t)align, size) != 0)
    return NULL;
  return p;
}

static double nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int compareDouble(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void printShape(FILE *out, const int64_t *shape, int32_t rank,
                       int json) {
  int32_t i;
  fputs(json ? "[" : "(", out);
  for (i = 0; i < rank; ++i)
    fprintf(out, "%s%lld", i ? ", " : "", (long long)shape[i]);
  fputs(json ? "]" : (rank == 1 ? ",)" : ")"), out);
}

static void printJsonString(FILE *out, const char *s) {
  fputc('"', out);
  for (; s && *s; ++s) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(out, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(out, "\\u%04x", ch);
    else
      fputc(ch, out);
  }
  fputc('"', out);
}

/* JSON has no NaN/Inf: emit null so json.loads in strict mode still works. */
static void printJsonDouble(FILE *out, double v) {
  if (isfinite(v))
    fprintf(out, "%.17g", v);
  else
    fputs("null", out);
}

static const char *statusName(int32_t status) {
  switch (status) {
  case MAFAT_ERR_NULL_ARGUMENT:
    return "MAFAT_ERR_NULL_ARGUMENT";
  case MAFAT_ERR_MISALIGNED_WORKSPACE:
    return "MAFAT_ERR_MISALIGNED_WORKSPACE";
  default:
    return "unknown status";
  }
}

static const char *orEmpty(const char *s, const char *fallback) {
  return s ? s : fallback;
}

/* Validates one descriptor and computes its element count. */
static int checkDesc(const char *prog, const char *kind, int index,
                     const mafat_tensor_desc_t *d, uint64_t *count) {
  int32_t i;
  uint64_t c = 1;
  const char *name = orEmpty(d->name, "?");
  if (d->dtype != MAFAT_F32) {
    fprintf(stderr,
            "%s: error: %s %d '%s' has unsupported dtype %d (only f32)\n", prog,
            kind, index, name, (int)d->dtype);
    return 0;
  }
  if (d->rank < 0 || d->rank > MAFAT_NPY_MAX_RANK ||
      (d->rank > 0 && !d->shape)) {
    fprintf(stderr, "%s: error: %s %d '%s' has invalid rank %d\n", prog, kind,
            index, name, (int)d->rank);
    return 0;
  }
  for (i = 0; i < d->rank; ++i) {
    uint64_t dim = (uint64_t)d->shape[i];
    if (d->shape[i] < 0 || (dim != 0 && c > (UINT64_MAX / 4) / dim) ||
        c * dim * 4 > (uint64_t)SIZE_MAX) {
      fprintf(stderr, "%s: error: %s %d '%s' has an invalid shape\n", prog,
              kind, index, name);
      return 0;
    }
    c *= dim;
  }
  *count = c;
  return 1;
}

typedef struct {
  double sum;
  double absmax;
  uint64_t nonfinite;
} Checksum;

static Checksum checksum(const float *data, uint64_t count) {
  Checksum cs = {0.0, 0.0, 0};
  uint64_t i;
  for (i = 0; i < count; ++i) {
    double v = (double)data[i];
    double a = v < 0 ? -v : v;
    cs.sum += v;
    if (!isfinite(v)) {
      ++cs.nonfinite;
      cs.absmax = a; /* NaN/Inf makes absmax non-finite -> null in JSON */
    } else if (a > cs.absmax && isfinite(cs.absmax)) {
      cs.absmax = a;
    }
  }
  return cs;
}

/* Peak resident set of this process in bytes; *source names where it came
 * from. Linux carries ru_maxrss across exec, so a driver spawned by a big
 * process (a Python benchmark script) would report the parent's peak; the
 * per-address-space VmHWM does not have that problem, so prefer it. */
static long long peakRss(const char **source) {
  struct rusage ru;
  FILE *f = fopen("/proc/self/status", "r");
  if (f) {
    char line[256];
    long long kib = -1;
    while (fgets(line, sizeof(line), f))
      if (sscanf(line, "VmHWM: %lld kB", &kib) == 1)
        break;
    fclose(f);
    if (kib >= 0) {
      *source = "VmHWM";
      return kib * 1024;
    }
  }
  *source = "ru_maxrss";
  /* Linux reports ru_maxrss in KiB. */
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    return (long long)ru.ru_maxrss * 1024;
  *source = "unavailable";
  return -1;
}

/*===-- Group profiling ---------------------------------------------------===*/

/* Where a profiled model keeps its hook. A model linked into this program
 * (--emit=exe) resolves the weak reference at link time; one loaded with
 * dlopen (mafat-run) does not, because the executable's references are bound
 * before the library is loaded, so its own symbol table is searched: dladdr
 * names the object that holds the descriptor, and RTLD_NOLOAD reopens it
 * without loading anything. NULL if the model was not compiled with
 * --profile-groups. */
#pragma weak mafat_profile_hook
static mafat_profile_fn *findProfileHook(const mafat_model_t *model) {
  Dl_info info;
  void *handle, *sym = NULL;
  if (&mafat_profile_hook)
    return &mafat_profile_hook;
  if (!dladdr((const void *)model, &info) || !info.dli_fname ||
      !*info.dli_fname)
    return NULL;
  handle = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (!handle)
    return NULL;
  sym = dlsym(handle, MAFAT_PROFILE_HOOK_SYMBOL);
  /* Only drops the reference RTLD_NOLOAD added; the caller's stays. */
  dlclose(handle);
  return (mafat_profile_fn *)sym;
}

/* Static storage: the hook runs inside the model's run function, which is
 * being timed, so it only stores a timestamp. Groups past the capacity make
 * the profile an error rather than being dropped. */
enum { kMaxProfileGroups = 4096 };

static struct {
  double time[kMaxProfileGroups + 1]; /* when mark i was last hit */
  long stamp[kMaxProfileGroups + 1];  /* in which run (run + 1; 0: never) */
  const char *name[kMaxProfileGroups + 1];
  long run;      /* the current run + 1 */
  int32_t marks; /* highest mark index seen + 1 */
  int bad;       /* a mark out of range */
} gProfile;

static void profileMark(int32_t group, const char *name) {
  double t = nowMs();
  if (group < 0 || group > kMaxProfileGroups) {
    gProfile.bad = 1;
    return;
  }
  gProfile.time[group] = t;
  gProfile.stamp[group] = gProfile.run;
  gProfile.name[group] = name;
  if (group + 1 > gProfile.marks)
    gProfile.marks = group + 1;
}

/* Stores the group times of the run just finished in out[i * stride] for
 * i in [0, groups): group i is the time from mark i to mark i + 1. Returns 0
 * unless this run made exactly the marks 0..groups, the last one nameless
 * (the end mark). */
static int groupTimes(int32_t groups, double *out, size_t stride) {
  int32_t i;
  if (gProfile.bad || gProfile.marks != groups + 1 ||
      gProfile.name[groups] != NULL)
    return 0;
  for (i = 0; i <= groups; ++i)
    if (gProfile.stamp[i] != gProfile.run)
      return 0;
  for (i = 0; i < groups; ++i)
    out[(size_t)i * stride] = gProfile.time[i + 1] - gProfile.time[i];
  return 1;
}

/*===-- The driver --------------------------------------------------------===*
 *
 * mafat_driver_main runs the steps below in order; each does one job, prints
 * its own error and returns an exit code (kExitOk to go on). Everything they
 * allocate lives in one Run, which freeRun releases whatever step failed. */

typedef struct {
  double min, median, max, mean;
} Latency;

typedef struct {
  const char *prog;
  const mafat_model_t *model;
  Options opt;
  uint64_t ws_align; /* the model's, raised to what posix_memalign needs */
  uint64_t *in_counts, *out_counts; /* elements per input / output */
  void **in_ptrs, **out_ptrs;
  void *workspace;
  mafat_pool_t *pool; /* NULL on one thread */
  mafat_parallel_t parallel;
  long threads;
  double *times;          /* per timed run, in ms */
  Checksum *sums;         /* per output */
  mafat_profile_fn *hook; /* set while --profile's marks are recorded */
  int32_t num_groups;
  double *group_times; /* num_groups x repeat, row-major */
  double *group_stats; /* num_groups x {min, median, mean} */
} Run;

/* The median of `count` sorted values. */
static double sortedMedian(const double *sorted, long count) {
  return count % 2 ? sorted[count / 2]
                   : 0.5 * (sorted[count / 2 - 1] + sorted[count / 2]);
}

/* Defaults, then the flags. */
static int readCommandLine(int argc, char **argv, Run *run) {
  Options *opt = &run->opt;
  opt->repeat = 5;
  opt->warmup = 1;
  opt->seed = 42;
  /* Each flag takes at least one argv slot, so argc bounds the file lists. */
  opt->inputs = (const char **)calloc((size_t)argc + 1, sizeof(char *));
  opt->outputs = (const char **)calloc((size_t)argc + 1, sizeof(char *));
  if (!opt->inputs || !opt->outputs) {
    fprintf(stderr, "%s: error: out of memory\n", run->prog);
    return kExitFailure;
  }
  return parseOptions(argc, argv, run->prog, opt);
}

/* The model is whatever mafat_model() returned: trust nothing. Also checks
 * that the --input/--output counts match it. */
static int checkModel(Run *run) {
  const char *prog = run->prog;
  const mafat_model_t *model = run->model;
  const Options *opt = &run->opt;
  if (!model) {
    fprintf(stderr, "%s: error: mafat_model() returned NULL\n", prog);
    return kExitUsage;
  }
  if (model->abi_version != MAFAT_ABI_VERSION) {
    fprintf(stderr,
            "%s: error: model ABI version %lu, this driver supports %d; "
            "recompile the model or rebuild the driver\n",
            prog, (unsigned long)model->abi_version, MAFAT_ABI_VERSION);
    return kExitUsage;
  }
  if (!model->run || model->num_inputs < 0 || model->num_outputs < 0 ||
      (model->num_inputs > 0 && !model->inputs) ||
      (model->num_outputs > 0 && !model->outputs)) {
    fprintf(stderr, "%s: error: malformed model descriptor\n", prog);
    return kExitUsage;
  }
  if (opt->num_inputs != 0 && opt->num_inputs != model->num_inputs) {
    fprintf(stderr,
            "%s: error: model '%s' has %d input(s) but %d --input given "
            "(give all of them, in model order, or none for random "
            "inputs)\n",
            prog, orEmpty(model->name, "?"), (int)model->num_inputs,
            opt->num_inputs);
    return kExitUsage;
  }
  if (opt->num_outputs != 0 && opt->num_outputs != model->num_outputs) {
    fprintf(stderr,
            "%s: error: model '%s' has %d output(s) but %d --output given "
            "(give all of them, in model order, or none)\n",
            prog, orEmpty(model->name, "?"), (int)model->num_outputs,
            opt->num_outputs);
    return kExitUsage;
  }
  run->ws_align = model->workspace_align;
  if (run->ws_align & (run->ws_align - 1)) {
    fprintf(stderr, "%s: error: workspace_align %llu is not a power of two\n",
            prog, (unsigned long long)run->ws_align);
    return kExitUsage;
  }
  /* posix_memalign needs a multiple of sizeof(void *); a stricter alignment
   * satisfies any smaller declared one. */
  if (run->ws_align < sizeof(void *))
    run->ws_align = sizeof(void *);
  if (model->workspace_bytes > (uint64_t)SIZE_MAX) {
    fprintf(stderr, "%s: error: workspace of %llu bytes does not fit\n", prog,
            (unsigned long long)model->workspace_bytes);
    return kExitFailure;
  }
  return kExitOk;
}

/* The per-tensor and per-run tables, and each tensor's element count from
 * its checked descriptor. */
static int allocateTables(Run *run) {
  const mafat_model_t *model = run->model;
  int32_t i;
  /* +1: never a zero-size calloc, whose NULL result would look like OOM. */
  run->in_counts =
      (uint64_t *)calloc((size_t)model->num_inputs + 1, sizeof(uint64_t));
  run->out_counts =
      (uint64_t *)calloc((size_t)model->num_outputs + 1, sizeof(uint64_t));
  run->in_ptrs = (void **)calloc((size_t)model->num_inputs + 1, sizeof(void *));
  run->out_ptrs =
      (void **)calloc((size_t)model->num_outputs + 1, sizeof(void *));
  run->sums =
      (Checksum *)calloc((size_t)model->num_outputs + 1, sizeof(Checksum));
  run->times = (double *)calloc((size_t)run->opt.repeat, sizeof(double));
  if (!run->in_counts || !run->out_counts || !run->in_ptrs || !run->out_ptrs ||
      !run->sums || !run->times) {
    fprintf(stderr, "%s: error: out of memory\n", run->prog);
    return kExitFailure;
  }
  for (i = 0; i < model->num_inputs; ++i)
    if (!checkDesc(run->prog, "input", i, &model->inputs[i],
                   &run->in_counts[i]))
      return kExitUsage;
  for (i = 0; i < model->num_outputs; ++i)
    if (!checkDesc(run->prog, "output", i, &model->outputs[i],
                   &run->out_counts[i]))
      return kExitUsage;
  return kExitOk;
}

/* Input i from its --input file, checked against the descriptor. */
static int readInput(Run *run, int32_t i) {
  const char *prog = run->prog;
  const mafat_tensor_desc_t *d = &run->model->inputs[i];
  const char *file = run->opt.inputs[i];
  mafat_npy_array_t arr;
  char err[1024];
  int same = 1;
  int32_t k;
  int st = mafat_npy_read(file, &arr, err, sizeof(err));
  if (st != MAFAT_NPY_OK) {
    fprintf(stderr, "%s: error: input %d '%s': %s\n", prog, (int)i,
            orEmpty(d->name, "?"), err);
    return st == MAFAT_NPY_ERR_NOMEM ? kExitFailure : kExitUsage;
  }
  run->in_ptrs[i] = arr.data;
  if (arr.rank != d->rank)
    same = 0;
  for (k = 0; same && k < d->rank; ++k)
    same = arr.shape[k] == d->shape[k];
  if (!same) {
    fprintf(stderr, "%s: error: input %d '%s' (%s): expected shape ", prog,
            (int)i, orEmpty(d->name, "?"), file);
    printShape(stderr, d->shape, d->rank, 0);
    fputs(", got ", stderr);
    printShape(stderr, arr.shape, arr.rank, 0);
    fputs("\n", stderr);
    return kExitUsage;
  }
  return kExitOk;
}

/* Inputs: from files, or random (one stream over all inputs in order). */
static int loadInputs(Run *run) {
  uint64_t rng_state = run->opt.seed;
  int32_t i;
  int rc;
  for (i = 0; i < run->model->num_inputs; ++i) {
    if (run->opt.num_inputs) {
      if ((rc = readInput(run, i)) != kExitOk)
        return rc;
      continue;
    }
    run->in_ptrs[i] = alignedAlloc(run->in_counts[i] * 4, kIoAlign);
    if (!run->in_ptrs[i]) {
      fprintf(stderr, "%s: error: out of memory for input %d\n", run->prog,
              (int)i);
      return kExitFailure;
    }
    fillRandom((float *)run->in_ptrs[i], run->in_counts[i], &rng_state);
  }
  return kExitOk;
}

/* Outputs and workspace start as all-ones bytes (NaN floats), so a model
 * that reads scratch before writing it, or leaves an output element
 * unwritten, shows up as NaN in the checksums instead of passing by luck
 * on zeroed pages. */
static int allocateOutputsAndWorkspace(Run *run) {
  const mafat_model_t *model = run->model;
  int32_t i;
  for (i = 0; i < model->num_outputs; ++i) {
    run->out_ptrs[i] = alignedAlloc(run->out_counts[i] * 4, kIoAlign);
    if (!run->out_ptrs[i]) {
      fprintf(stderr, "%s: error: out of memory for output %d\n", run->prog,
              (int)i);
      return kExitFailure;
    }
    memset(run->out_ptrs[i], 0xff, (size_t)(run->out_counts[i] * 4));
  }
  run->workspace = alignedAlloc(model->workspace_bytes, run->ws_align);
  if (!run->workspace) {
    fprintf(stderr, "%s: error: cannot allocate a %llu-byte workspace\n",
            run->prog, (unsigned long long)model->workspace_bytes);
    return kExitFailure;
  }
  memset(run->workspace, 0xff, (size_t)model->workspace_bytes);
  return kExitOk;
}

/* The caller's threads: created once, outside the timed runs. */
static int startThreads(Run *run) {
  const mafat_model_t *model = run->model;
  run->threads = run->opt.threads ? run->opt.threads
                                  : (model->threads > 0 ? model->threads : 1);
  if (run->threads > 1) {
    run->pool = mafat_pool_create((int32_t)run->threads);
    if (!run->pool) {
      fprintf(stderr, "%s: error: cannot start a pool of %ld threads\n",
              run->prog, run->threads);
      return kExitFailure;
    }
  }
  run->parallel = mafat_pool_parallel(run->pool);
  return kExitOk;
}

/* --profile: points the model's hook at profileMark. */
static int installProfileHook(Run *run) {
  if (!run->opt.profile)
    return kExitOk;
  run->hook = findProfileHook(run->model);
  if (!run->hook) {
    fprintf(stderr,
            "%s: error: --profile: model '%s' has no group marks "
            "(compile it with mafat-compile --profile-groups)\n",
            run->prog, orEmpty(run->model->name, "?"));
    return kExitUsage;
  }
  memset(&gProfile, 0, sizeof(gProfile));
  *run->hook = profileMark;
  return kExitOk;
}

/* --profile, after run r: stores its group times (timed runs in their
 * column, warmup runs checked, then overwritten by the first timed run). */
static int recordGroups(Run *run, long r) {
  const Options *opt = &run->opt;
  /* The first run tells how many groups there are; the table is allocated
   * then, outside the timed region. */
  if (r == 0) {
    run->num_groups = gProfile.marks > 0 ? gProfile.marks - 1 : 0;
    run->group_times = (double *)calloc(
        (size_t)opt->repeat * (size_t)run->num_groups + 1, sizeof(double));
    run->group_stats =
        (double *)calloc((size_t)run->num_groups * 3 + 1, sizeof(double));
    if (!run->group_times || !run->group_stats) {
      fprintf(stderr, "%s: error: out of memory\n", run->prog);
      return kExitFailure;
    }
  }
  if (!groupTimes(run->num_groups,
                  run->group_times + (r >= opt->warmup ? r - opt->warmup : 0),
                  (size_t)opt->repeat)) {
    fprintf(stderr,
            "%s: error: --profile: model '%s' made malformed group "
            "marks (expected the marks 0..N in every run, mark N "
            "without a name, N at most %d)\n",
            run->prog, orEmpty(run->model->name, "?"), (int)kMaxProfileGroups);
    return kExitRun;
  }
  return kExitOk;
}

/* The warmup runs, then the timed ones. */
static int timeRuns(Run *run) {
  const mafat_model_t *model = run->model;
  const Options *opt = &run->opt;
  long r;
  int rc;
  for (r = 0; r < opt->warmup + opt->repeat; ++r) {
    double t0, t1;
    int32_t st;
    gProfile.run = r + 1;
    t0 = nowMs();
    st = model->run((void *const *)run->in_ptrs, (void *const *)run->out_ptrs,
                    run->workspace, run->pool ? &run->parallel : NULL);
    t1 = nowMs();
    if (st != MAFAT_OK) {
      fprintf(stderr, "%s: error: model '%s' run failed with status %d (%s)\n",
              run->prog, orEmpty(model->name, "?"), (int)st, statusName(st));
      return kExitRun;
    }
    if (r >= opt->warmup)
      run->times[r - opt->warmup] = t1 - t0;
    if (run->hook && (rc = recordGroups(run, r)) != kExitOk)
      return rc;
  }
  return kExitOk;
}

/* --profile: unhooks the model and reduces each group's times to its
 * least, median and mean. */
static void summarizeGroups(Run *run) {
  long repeat = run->opt.repeat;
  int32_t i;
  long r;
  if (!run->hook)
    return;
  /* Unhook at once: the model may outlive this call. */
  *run->hook = NULL;
  /* Sorting each group's column in place leaves the runs unaligned, which
   * nothing needs afterwards. */
  for (i = 0; i < run->num_groups; ++i) {
    double *stats = run->group_stats + 3 * (size_t)i;
    double *column = run->group_times + (size_t)i * (size_t)repeat;
    stats[2] = 0.0;
    for (r = 0; r < repeat; ++r)
      stats[2] += column[r];
    stats[2] /= (double)repeat;
    qsort(column, (size_t)repeat, sizeof(double), compareDouble);
    stats[0] = column[0];
    stats[1] = sortedMedian(column, repeat);
  }
}

/* --output files, from the last timed run. */
static int writeOutputs(const Run *run) {
  char err[1024];
  int32_t i;
  for (i = 0; i < run->opt.num_outputs; ++i) {
    const mafat_tensor_desc_t *d = &run->model->outputs[i];
    if (mafat_npy_write(run->opt.outputs[i], (const float *)run->out_ptrs[i],
                        d->rank, d->shape, err, sizeof(err)) != MAFAT_NPY_OK) {
      fprintf(stderr, "%s: error: output %d '%s': %s\n", run->prog, (int)i,
              orEmpty(d->name, "?"), err);
      return kExitFailure;
    }
  }
  return kExitOk;
}

/* Sorts the run times in place. */
static Latency latencyStats(double *times, long repeat) {
  Latency l;
  long r;
  l.mean = 0.0;
  for (r = 0; r < repeat; ++r)
    l.mean += times[r];
  l.mean /= (double)repeat;
  qsort(times, (size_t)repeat, sizeof(double), compareDouble);
  l.min = times[0];
  l.max = times[repeat - 1];
  l.median = sortedMedian(times, repeat);
  return l;
}

/* One tensor of "inputs"/"outputs" up to its kind-specific keys. */
static void printJsonTensor(FILE *o, int32_t i, const mafat_tensor_desc_t *d) {
  fputs(i ? ", {\"name\": " : "{\"name\": ", o);
  printJsonString(o, orEmpty(d->name, ""));
  fputs(", \"shape\": ", o);
  printShape(o, d->shape, d->rank, 1);
  fputs(", \"layout\": ", o);
  printJsonString(o, orEmpty(d->layout, ""));
  fputs(", \"dtype\": \"float32\"", o);
}

/* --json: exactly one object on stdout. */
static void printJsonReport(const Run *run, const Latency *l,
                            long long peak_rss, const char *rss_source) {
  const Checksum *sums = run->sums;
  const mafat_model_t *model = run->model;
  const Options *opt = &run->opt;
  FILE *o = stdout;
  int32_t i;
  fputs("{\"model\": ", o);
  printJsonString(o, orEmpty(model->name, ""));
  fputs(", \"target\": ", o);
  printJsonString(o, orEmpty(model->target, ""));
  fprintf(o,
          ", \"abi_version\": %lu, \"workspace_bytes\": %llu, "
          "\"workspace_align\": %llu, \"naive_bytes\": %llu, "
          "\"weight_bytes\": %llu, \"stack_bound_bytes\": %llu, "
          "\"peak_rss_bytes\": %lld, \"peak_rss_source\": \"%s\", "
          "\"threads\": %ld, \"compiled_threads\": %d",
          (unsigned long)model->abi_version,
          (unsigned long long)model->workspace_bytes,
          (unsigned long long)model->workspace_align,
          (unsigned long long)model->naive_bytes,
          (unsigned long long)model->weight_bytes,
          (unsigned long long)model->stack_bound_bytes, peak_rss, rss_source,
          run->threads, (int)model->threads);
  fputs(", \"latency_ms\": {\"min\": ", o);
  printJsonDouble(o, l->min);
  fputs(", \"median\": ", o);
  printJsonDouble(o, l->median);
  fputs(", \"max\": ", o);
  printJsonDouble(o, l->max);
  fputs(", \"mean\": ", o);
  printJsonDouble(o, l->mean);
  fprintf(o, "}, \"repeat\": %ld, \"warmup\": %ld, \"seed\": %llu", opt->repeat,
          opt->warmup, (unsigned long long)opt->seed);
  fputs(", \"inputs\": [", o);
  for (i = 0; i < model->num_inputs; ++i) {
    printJsonTensor(o, i, &model->inputs[i]);
    fputs(", \"source\": ", o);
    if (opt->num_inputs)
      printJsonString(o, opt->inputs[i]);
    else
      fputs("\"random\"", o);
    fputs("}", o);
  }
  fputs("], \"outputs\": [", o);
  for (i = 0; i < model->num_outputs; ++i) {
    printJsonTensor(o, i, &model->outputs[i]);
    fputs(", \"sum\": ", o);
    printJsonDouble(o, sums[i].sum);
    fputs(", \"absmax\": ", o);
    printJsonDouble(o, sums[i].absmax);
    fprintf(o, ", \"nonfinite\": %llu, \"file\": ",
            (unsigned long long)sums[i].nonfinite);
    if (opt->num_outputs)
      printJsonString(o, opt->outputs[i]);
    else
      fputs("null", o);
    fputs("}", o);
  }
  fputs("]", o);
  if (run->hook) {
    fputs(", \"groups\": [", o);
    for (i = 0; i < run->num_groups; ++i) {
      const double *stats = run->group_stats + 3 * (size_t)i;
      fputs(i ? ", {\"name\": " : "{\"name\": ", o);
      printJsonString(o, orEmpty(gProfile.name[i], ""));
      fputs(", \"ms\": ", o);
      printJsonDouble(o, stats[0]);
      fputs(", \"median_ms\": ", o);
      printJsonDouble(o, stats[1]);
      fputs(", \"mean_ms\": ", o);
      printJsonDouble(o, stats[2]);
      fputs("}", o);
    }
    fputs("]", o);
  }
  fputs("}\n", o);
}

/* --profile's table in the text report. */
static void printTextGroups(const Run *run) {
  FILE *o = stdout;
  double total = 0.0;
  int32_t i;
  for (i = 0; i < run->num_groups; ++i)
    total += run->group_stats[3 * i];
  fprintf(o,
          "groups:       %d (over %ld runs; the least times add up to "
          "%.6g ms)\n",
          (int)run->num_groups, run->opt.repeat, total);
  fprintf(o, "  %5s  %12s  %12s  %6s  %s\n", "#", "min ms", "median ms",
          "share", "name");
  for (i = 0; i < run->num_groups; ++i)
    fprintf(o, "  %5d  %12.6f  %12.6f  %5.1f%%  %s\n", (int)i,
            run->group_stats[3 * i], run->group_stats[3 * i + 1],
            total > 0 ? 100.0 * run->group_stats[3 * i] / total : 0.0,
            orEmpty(gProfile.name[i], "?"));
}

/* The text report. */
static void printTextReport(const Run *run, const Latency *l,
                            long long peak_rss, const char *rss_source) {
  const Checksum *sums = run->sums;
  const mafat_model_t *model = run->model;
  const Options *opt = &run->opt;
  FILE *o = stdout;
  int32_t i;
  fprintf(o, "model:        %s\n", orEmpty(model->name, "?"));
  fprintf(o, "target:       %s\n", orEmpty(model->target, "?"));
  for (i = 0; i < model->num_inputs; ++i) {
    const mafat_tensor_desc_t *d = &model->inputs[i];
    fprintf(o, "input %-6d  %s ", (int)i, orEmpty(d->name, "?"));
    printShape(o, d->shape, d->rank, 0);
    if (opt->num_inputs)
      fprintf(o, " %s  <- %s\n", orEmpty(d->layout, ""), opt->inputs[i]);
    else
      fprintf(o, " %s  <- random (seed %llu)\n", orEmpty(d->layout, ""),
              (unsigned long long)opt->seed);
  }
  for (i = 0; i < model->num_outputs; ++i) {
    const mafat_tensor_desc_t *d = &model->outputs[i];
    fprintf(o, "output %-5d  %s ", (int)i, orEmpty(d->name, "?"));
    printShape(o, d->shape, d->rank, 0);
    fprintf(o, " %s  sum %.9g  absmax %.9g", orEmpty(d->layout, ""),
            sums[i].sum, sums[i].absmax);
    if (sums[i].nonfinite)
      fprintf(o, "  (%llu non-finite)", (unsigned long long)sums[i].nonfinite);
    if (opt->num_outputs)
      fprintf(o, "  -> %s", opt->outputs[i]);
    fputs("\n", o);
  }
  fprintf(o,
          "latency:      min %.6g ms  median %.6g ms  max %.6g ms  "
          "(%ld runs after %ld warmup)\n",
          l->min, l->median, l->max, opt->repeat, opt->warmup);
  fprintf(o, "threads:      %ld (compiled for %d)\n", run->threads,
          (int)model->threads);
  fprintf(o, "workspace:    %llu bytes (align %llu)\n",
          (unsigned long long)model->workspace_bytes,
          (unsigned long long)model->workspace_align);
  fprintf(o, "naive:        %llu bytes",
          (unsigned long long)model->naive_bytes);
  if (model->naive_bytes)
    fprintf(o, " (workspace is %.1f%% of naive)",
            100.0 * (double)model->workspace_bytes /
                (double)model->naive_bytes);
  fputs("\n", o);
  fprintf(o, "weights:      %llu bytes\n",
          (unsigned long long)model->weight_bytes);
  fprintf(o, "stack bound:  %llu bytes\n",
          (unsigned long long)model->stack_bound_bytes);
  fprintf(o, "peak RSS:     %lld bytes (%s)\n", peak_rss, rss_source);
  if (run->hook)
    printTextGroups(run);
}

/* Latency, checksums and peak RSS, printed as --json or text. */
static int report(Run *run) {
  const mafat_model_t *model = run->model;
  Latency l = latencyStats(run->times, run->opt.repeat);
  long long peak_rss;
  const char *rss_source = "";
  int32_t i;
  for (i = 0; i < model->num_outputs; ++i)
    run->sums[i] =
        checksum((const float *)run->out_ptrs[i], run->out_counts[i]);
  peak_rss = peakRss(&rss_source);
  if (run->opt.json)
    printJsonReport(run, &l, peak_rss, rss_source);
  else
    printTextReport(run, &l, peak_rss, rss_source);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "%s: error: writing the report failed\n", run->prog);
    return kExitFailure;
  }
  return kExitOk;
}

static void freeRun(Run *run) {
  const mafat_model_t *model = run->model;
  int32_t i;
  if (run->hook)
    *run->hook = NULL;
  mafat_pool_destroy(run->pool);
  free(run->group_times);
  free(run->group_stats);
  if (run->in_ptrs)
    for (i = 0; model && i < model->num_inputs; ++i)
      free(run->in_ptrs[i]);
  if (run->out_ptrs)
    for (i = 0; model && i < model->num_outputs; ++i)
      free(run->out_ptrs[i]);
  free(run->in_ptrs);
  free(run->out_ptrs);
  free(run->in_counts);
  free(run->out_counts);
  free(run->sums);
  free(run->times);
  free(run->workspace);
  free((void *)run->opt.inputs);
  free((void *)run->opt.outputs);
}

/* Every step after the command line, in order. */
static int drive(Run *run) {
  int rc;
  if ((rc = checkModel(run)) != kExitOk ||
      (rc = allocateTables(run)) != kExitOk ||
      (rc = loadInputs(run)) != kExitOk ||
      (rc = allocateOutputsAndWorkspace(run)) != kExitOk ||
      (rc = startThreads(run)) != kExitOk ||
      (rc = installProfileHook(run)) != kExitOk ||
      (rc = timeRuns(run)) != kExitOk)
    return rc;
  summarizeGroups(run);
  if ((rc = writeOutputs(run)) != kExitOk)
    return rc;
  return report(run);
}

int mafat_driver_main(int argc, char **argv, const mafat_model_t *model) {
  Run run;
  int rc;
  memset(&run, 0, sizeof(run));
  run.prog = (argc > 0 && argv && argv[0]) ? argv[0] : kDefaultProg;
  run.model = model;
  rc = readCommandLine(argc, argv, &run);
  if (rc == kExitOk) {
    if (run.opt.help)
      printUsage(stdout, run.prog);
    else
      rc = drive(&run);
  }
  freeRun(&run);
  return rc;
}
