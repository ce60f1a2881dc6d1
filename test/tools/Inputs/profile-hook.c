/* A program linked with a profiled model object sets mafat_profile_hook
 * itself (docs/CAPI.md) and sees one mark per timed unit, then the end mark
 * without a name. */
#include "mafat/runtime.h"
#include "tiny_cnn.h"

#include <stdio.h>

static _Alignas(64) unsigned char workspace[TINY_CNN_WORKSPACE_BYTES];
static float input[TINY_CNN_INPUT0_ELEMENTS], output[TINY_CNN_OUTPUT0_ELEMENTS];

static void mark(int32_t group, const char *name) {
  printf("mark %d %s\n", (int)group, name ? name : "(end)");
}

int main(void) {
  mafat_profile_hook = mark;
  if (tiny_cnn_run(input, output, workspace, NULL) != 0)
    return 1;
  mafat_profile_hook = NULL;
  /* Unhooked, the model runs without marks. */
  if (tiny_cnn_run(input, output, workspace, NULL) != 0)
    return 1;
  printf("done\n");
  return 0;
}
