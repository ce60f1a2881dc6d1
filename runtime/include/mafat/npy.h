/*===- mafat/npy.h - Minimal float32 .npy reader/writer -------------------===*
 *
 * Just enough of the NumPy .npy format for the driver: reads versions 1.0,
 * 2.0 (and 3.0, which differs only in header encoding), writes 1.0, and only
 * little-endian float32 ('<f4') in C order, because that is the only dtype
 * and layout the models' ABI knows. Plain C99; never exits, every failure is
 * reported as a status code plus a human-readable message.
 *
 *===----------------------------------------------------------------------===*/
#ifndef MAFAT_NPY_H
#define MAFAT_NPY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest rank accepted; NumPy's own limit is 64, CNN tensors need 4-5. */
#define MAFAT_NPY_MAX_RANK 32

/* Alignment of mafat_npy_array_t::data, enough for any SIMD load. */
#define MAFAT_NPY_DATA_ALIGN 64

enum mafat_npy_status {
  MAFAT_NPY_OK = 0,
  MAFAT_NPY_ERR_IO = 1,        /* open/read/write failed (see message) */
  MAFAT_NPY_ERR_NOT_NPY = 2,   /* missing "\x93NUMPY" magic */
  MAFAT_NPY_ERR_VERSION = 3,   /* unsupported format version */
  MAFAT_NPY_ERR_HEADER = 4,    /* header dict malformed or keys missing */
  MAFAT_NPY_ERR_DTYPE = 5,     /* descr is not '<f4' */
  MAFAT_NPY_ERR_FORTRAN = 6,   /* fortran_order is True */
  MAFAT_NPY_ERR_SHAPE = 7,     /* shape tuple unparsable/too big/negative */
  MAFAT_NPY_ERR_TRUNCATED = 8, /* fewer data bytes than the shape needs */
  MAFAT_NPY_ERR_NOMEM = 9,     /* allocation failed */
  MAFAT_NPY_ERR_ARGUMENT = 10  /* bad argument to the API */
};

typedef struct mafat_npy_array {
  int32_t rank;
  int64_t shape[MAFAT_NPY_MAX_RANK];
  uint64_t count; /* product of shape (1 for rank 0) */
  float *data;    /* MAFAT_NPY_DATA_ALIGN-aligned; release with free() or
                     mafat_npy_free() */
} mafat_npy_array_t;

/* Short fixed description of a status code, e.g. "wrong dtype". */
const char *mafat_npy_strerror(int status);

/* Reads `path` into `out` (zeroed first). On failure returns a non-zero
 * mafat_npy_status, leaves out->data NULL and, when `err` is non-NULL, writes
 * a NUL-terminated message naming the file and the problem into err[0..
 * err_size). */
int mafat_npy_read(const char *path, mafat_npy_array_t *out, char *err,
                   size_t err_size);

/* Writes `data` (rank dims in `shape`, C order) to `path` as a version 1.0
 * '<f4' .npy file. Same error convention as mafat_npy_read. */
int mafat_npy_write(const char *path, const float *data, int32_t rank,
                    const int64_t *shape, char *err, size_t err_size);

/* Frees arr->data and resets arr; safe on a zeroed or already-freed array. */
void mafat_npy_free(mafat_npy_array_t *arr);

#ifdef __cplusplus
}
#endif

#endif /* MAFAT_NPY_H */
