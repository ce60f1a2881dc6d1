/*===- mafat-run.c - Run a mafat-compiled shared library ------------------===*
 *
 *   mafat-run MODEL.so [driver flags]
 *
 * Loads the model with dlopen and hands the rest of the command line to the
 * same driver the --emit=exe executables use, so both report identically.
 *
 *===----------------------------------------------------------------------===*/
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* dlopen/dlsym in strict C99 mode */
#endif

#include "mafat/runtime.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef const mafat_model_t *(*ModelFn)(void);

static void printHelp(const char *prog) {
  /* Writable arrays: argv elements are char *, string literals are not. */
  static char help_prog[] = "mafat-run MODEL.so";
  static char help_flag[] = "--help";
  char *help_argv[3];
  printf("%s MODEL.so [driver flags]: loads MODEL.so (built by\n"
         "mafat-compile --emit=lib), calls its mafat_model() and runs it with\n"
         "the flags below. A path without '/' is taken relative to the\n"
         "current directory, not searched for.\n"
         "\n",
         prog);
  fflush(stdout);
  /* The driver prints its own flag reference; it needs no model for it. */
  help_argv[0] = help_prog;
  help_argv[1] = help_flag;
  help_argv[2] = NULL;
  mafat_driver_main(2, help_argv, NULL);
}

int main(int argc, char **argv) {
  const char *prog = argc > 0 && argv[0] ? argv[0] : "mafat-run";
  const char *so;
  char *path, *name;
  void *handle, *sym;
  ModelFn model_fn;
  char **dargv;
  int i, rc;

  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0) {
    if (argc < 2) {
      fprintf(stderr, "%s: error: missing MODEL.so (see --help)\n", prog);
      return 2;
    }
    printHelp(prog);
    return 0;
  }
  so = argv[1];
  if (so[0] == '-') {
    fprintf(stderr,
            "%s: error: the first argument must be MODEL.so, got '%s' (see "
            "--help)\n",
            prog, so);
    return 2;
  }

  /* dlopen searches LD_LIBRARY_PATH etc. for bare names; users mean a file
   * in the current directory, so make the path explicit. */
  path = (char *)malloc(strlen(so) + 3);
  if (!path) {
    fprintf(stderr, "%s: error: out of memory\n", prog);
    return 1;
  }
  if (strchr(so, '/'))
    strcpy(path, so);
  else {
    strcpy(path, "./");
    strcat(path, so);
  }
  handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    fprintf(stderr, "%s: error: cannot load model '%s': %s\n", prog, so,
            dlerror());
    free(path);
    return 2;
  }
  dlerror();
  sym = dlsym(handle, "mafat_model");
  if (!sym) {
    const char *e = dlerror();
    fprintf(stderr,
            "%s: error: '%s' does not export mafat_model (not a mafat "
            "model?): %s\n",
            prog, so, e ? e : "symbol is NULL");
    dlclose(handle);
    free(path);
    return 2;
  }
  /* ISO C has no object-to-function pointer cast; POSIX guarantees the
   * representations match, so copy the bits. */
  memcpy(&model_fn, &sym, sizeof(model_fn));

  /* The driver sees "mafat-run MODEL.so" as its program name, so its usage
   * and error lines read naturally, followed by the remaining flags. */
  name = (char *)malloc(strlen(prog) + strlen(so) + 2);
  dargv = (char **)calloc((size_t)argc, sizeof(char *));
  if (!name || !dargv) {
    fprintf(stderr, "%s: error: out of memory\n", prog);
    free(name);
    free(dargv);
    dlclose(handle);
    free(path);
    return 1;
  }
  sprintf(name, "%s %s", prog, so);
  dargv[0] = name;
  for (i = 2; i < argc; ++i)
    dargv[i - 1] = argv[i];
  dargv[argc - 1] = NULL;

  rc = mafat_driver_main(argc - 1, dargv, model_fn());

  free(dargv);
  free(name);
  dlclose(handle);
  free(path);
  return rc;
}
