/*===- exe_main.c - main() of --emit=exe model executables ----------------===*
 *
 * Kept in its own archive member so that linking libmafat_driver.a into a
 * shared library or a program with its own main() never drags it in: only an
 * executable whose main is still undefined pulls this object.
 *
 *===----------------------------------------------------------------------===*/
#include "mafat/runtime.h"

int main(int argc, char **argv) {
  return mafat_driver_main(argc, argv, mafat_model());
}
