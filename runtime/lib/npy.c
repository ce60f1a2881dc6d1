/*===- npy.c - Minimal float32 .npy reader/writer -------------------------===*
 *
 * See mafat/npy.h. The header is a Python dict literal; rather than a general
 * literal parser we accept exactly the grammar NumPy writes (and small
 * variations: either quote style, any key order, optional trailing comma).
 *
 *===----------------------------------------------------------------------===*/
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* posix_memalign in strict C99 mode */
#endif

#include "mafat/npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
enum { kMagicLen = 6 };
/* Headers larger than this are surely not ours; bounds the allocation. */
enum { kMaxHeaderLen = 1 << 20 };
/* NumPy >= 1.14 pads the header so data starts on a 64-byte boundary. */
enum { kHeaderAlign = 64 };

const char *mafat_npy_strerror(int status) {
  switch (status) {
  case MAFAT_NPY_OK:
    return "success";
  case MAFAT_NPY_ERR_IO:
    return "I/O error";
  case MAFAT_NPY_ERR_NOT_NPY:
    return "not a .npy file";
  case MAFAT_NPY_ERR_VERSION:
    return "unsupported .npy version";
  case MAFAT_NPY_ERR_HEADER:
    return "malformed .npy header";
  case MAFAT_NPY_ERR_DTYPE:
    return "wrong dtype (need '<f4')";
  case MAFAT_NPY_ERR_FORTRAN:
    return "Fortran-order array (need C order)";
  case MAFAT_NPY_ERR_SHAPE:
    return "bad shape";
  case MAFAT_NPY_ERR_TRUNCATED:
    return "truncated data";
  case MAFAT_NPY_ERR_NOMEM:
    return "out of memory";
  case MAFAT_NPY_ERR_ARGUMENT:
    return "invalid argument";
  default:
    return "unknown error";
  }
}

/* Formats "<path>: <message>" into err (if any) and returns status, so error
 * paths are one-liners. */
static int fail(char *err, size_t err_size, int status, const char *path,
                const char *fmt, ...) {
  if (err && err_size > 0) {
    int n = snprintf(err, err_size, "%s: ", path ? path : "(null)");
    if (n >= 0 && (size_t)n < err_size) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(err + n, err_size - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return status;
}

/* The format is little-endian; the targets we build for are too, but a
 * big-endian host would silently read garbage, so swap there. */
static int hostIsBigEndian(void) {
  const uint16_t probe = 1;
  unsigned char first;
  memcpy(&first, &probe, 1);
  return first == 0;
}

static void swapBytes32(float *data, uint64_t count) {
  unsigned char *p = (unsigned char *)data;
  uint64_t i;
  for (i = 0; i < count; ++i, p += 4) {
    unsigned char t = p[0];
    p[0] = p[3];
    p[3] = t;
    t = p[1];
    p[1] = p[2];
    p[2] = t;
  }
}

/*===-- Header dict parsing -----------------------------------------------===*/

typedef struct {
  const char *p;
  const char *end;
} Cursor;

static void skipSpace(Cursor *c) {
  while (c->p < c->end &&
         (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    ++c->p;
}

static int consume(Cursor *c, char ch) {
  skipSpace(c);
  if (c->p < c->end && *c->p == ch) {
    ++c->p;
    return 1;
  }
  return 0;
}

/* Parses a '...' or "..." string literal without escapes (NumPy never
 * writes any in keys or simple descrs) into buf. */
static int parseString(Cursor *c, char *buf, size_t size) {
  char quote;
  size_t n = 0;
  skipSpace(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return 0;
  quote = *c->p++;
  while (c->p < c->end && *c->p != quote) {
    if (*c->p == '\\' || n + 1 >= size)
      return 0;
    buf[n++] = *c->p++;
  }
  if (c->p >= c->end)
    return 0;
  ++c->p;
  buf[n] = '\0';
  return 1;
}

static int parseBool(Cursor *c, int *value) {
  skipSpace(c);
  if ((size_t)(c->end - c->p) >= 4 && memcmp(c->p, "True", 4) == 0) {
    c->p += 4;
    *value = 1;
    return 1;
  }
  if ((size_t)(c->end - c->p) >= 5 && memcmp(c->p, "False", 5) == 0) {
    c->p += 5;
    *value = 0;
    return 1;
  }
  return 0;
}

/* Parses "(d0, d1, ...)" with optional trailing comma and optional Python 2
 * 'L' suffixes. Returns a MAFAT_NPY status and describes failures in why. */
static int parseShape(Cursor *c, int32_t *rank, int64_t *shape,
                      const char **why) {
  int32_t r = 0;
  if (!consume(c, '(')) {
    *why = "expected '(' to start the shape tuple";
    return MAFAT_NPY_ERR_SHAPE;
  }
  for (;;) {
    int64_t dim = 0;
    int digits = 0;
    if (consume(c, ')'))
      break;
    skipSpace(c);
    if (c->p < c->end && *c->p == '-') {
      *why = "negative dimension";
      return MAFAT_NPY_ERR_SHAPE;
    }
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
      if (dim > (INT64_MAX - 9) / 10) {
        *why = "dimension does not fit in 64 bits";
        return MAFAT_NPY_ERR_SHAPE;
      }
      dim = dim * 10 + (*c->p++ - '0');
      ++digits;
    }
    if (!digits) {
      *why = "expected an integer dimension";
      return MAFAT_NPY_ERR_SHAPE;
    }
    if (c->p < c->end && (*c->p == 'L' || *c->p == 'l'))
      ++c->p;
    if (r >= MAFAT_NPY_MAX_RANK) {
      *why = "rank exceeds MAFAT_NPY_MAX_RANK";
      return MAFAT_NPY_ERR_SHAPE;
    }
    shape[r++] = dim;
    if (consume(c, ','))
      continue;
    if (consume(c, ')'))
      break;
    *why = "expected ',' or ')' after a dimension";
    return MAFAT_NPY_ERR_SHAPE;
  }
  *rank = r;
  return MAFAT_NPY_OK;
}

/* Formats a shape as NumPy prints it, for messages. */
static void formatShape(char *buf, size_t size, int32_t rank,
                        const int64_t *shape) {
  size_t n = 0;
  int32_t i;
  if (size == 0)
    return;
  buf[0] = '\0';
  n += (size_t)snprintf(buf, size, "(");
  for (i = 0; i < rank && n < size; ++i)
    n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "",
                          (long long)shape[i]);
  if (n < size)
    snprintf(buf + n, size - n, rank == 1 ? ",)" : ")");
}

/*===-- Reading -----------------------------------------------------------===*/

static int readHeader(FILE *f, const char *path, char **header,
                      size_t *header_len, char *err, size_t err_size) {
  unsigned char pre[kMagicLen + 2];
  unsigned char len_bytes[4];
  size_t got = fread(pre, 1, sizeof(pre), f);
  uint32_t len;
  int major;
  if (ferror(f))
    return fail(err, err_size, MAFAT_NPY_ERR_IO, path, "read failed: %s",
                strerror(errno));
  if (got < kMagicLen || memcmp(pre, kMagic, kMagicLen) != 0)
    return fail(err, err_size, MAFAT_NPY_ERR_NOT_NPY, path,
                "not a .npy file (missing \\x93NUMPY magic)");
  if (got < sizeof(pre))
    return fail(err, err_size, MAFAT_NPY_ERR_TRUNCATED, path,
                "truncated .npy preamble");
  major = pre[kMagicLen];
  if (major == 1) {
    if (fread(len_bytes, 1, 2, f) != 2)
      return fail(err, err_size, MAFAT_NPY_ERR_TRUNCATED, path,
                  "truncated .npy header length");
    len = (uint32_t)len_bytes[0] | (uint32_t)len_bytes[1] << 8;
  } else if (major == 2 || major == 3) {
    /* 3.0 only changes the header text encoding to UTF-8. */
    if (fread(len_bytes, 1, 4, f) != 4)
      return fail(err, err_size, MAFAT_NPY_ERR_TRUNCATED, path,
                  "truncated .npy header length");
    len = (uint32_t)len_bytes[0] | (uint32_t)len_bytes[1] << 8 |
          (uint32_t)len_bytes[2] << 16 | (uint32_t)len_bytes[3] << 24;
  } else {
    return fail(err, err_size, MAFAT_NPY_ERR_VERSION, path,
                "unsupported .npy format version %d.%d (need 1.0, 2.0 or 3.0)",
                major, pre[kMagicLen + 1]);
  }
  if (len > kMaxHeaderLen)
    return fail(err, err_size, MAFAT_NPY_ERR_HEADER, path,
                "implausible header length %lu", (unsigned long)len);
  *header = (char *)malloc((size_t)len + 1);
  if (!*header)
    return fail(err, err_size, MAFAT_NPY_ERR_NOMEM, path,
                "out of memory reading header");
  if (fread(*header, 1, len, f) != len) {
    free(*header);
    *header = NULL;
    return fail(err, err_size, MAFAT_NPY_ERR_TRUNCATED, path,
                "truncated header (%lu bytes announced)", (unsigned long)len);
  }
  (*header)[len] = '\0';
  *header_len = len;
  return MAFAT_NPY_OK;
}

/* Interprets the header dict into out->rank/shape. */
static int parseHeader(const char *header, size_t len, const char *path,
                       mafat_npy_array_t *out, char *err, size_t err_size) {
  Cursor c;
  char key[32];
  char descr[64];
  int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
  c.p = header;
  c.end = header + len;
  if (!consume(&c, '{'))
    return fail(err, err_size, MAFAT_NPY_ERR_HEADER, path,
                "header is not a dict: %.80s", header);
  while (!consume(&c, '}')) {
    if (!parseString(&c, key, sizeof(key)) || !consume(&c, ':'))
      return fail(err, err_size, MAFAT_NPY_ERR_HEADER, path,
                  "cannot parse header dict: %.120s", header);
    if (strcmp(key, "descr") == 0) {
      if (!parseString(&c, descr, sizeof(descr)))
        return fail(err, err_size, MAFAT_NPY_ERR_DTYPE, path,
                    "unsupported dtype descr (need '<f4'): %.120s", header);
      have_descr = 1;
    } else if (strcmp(key, "fortran_order") == 0) {
      if (!parseBool(&c, &fortran))
        return fail(err, err_size, MAFAT_NPY_ERR_HEADER, path,
                    "fortran_order is not True/False: %.120s", header);
      have_order = 1;
    } else if (strcmp(key, "shape") == 0) {
      const char *why = "";
      if (parseShape(&c, &out->rank, out->shape, &why) != MAFAT_NPY_OK)
        return fail(err, err_size, MAFAT_NPY_ERR_SHAPE, path,
                    "cannot parse shape (%s): %.120s", why, header);
      have_shape = 1;
    } else {
      return fail(err, err_size, MAFAT_NPY_ERR_HEADER, path,
                  "unexpected header key '%s'", key);
    }
    if (!consume(&c, ',')) {
      if (!consume(&c, '}'))
        return fail(err, err_size, MAFAT_NPY_ERR_HEADER, path,
                    "cannot parse header dict: %.120s", header);
      break;
    }
  }
  if (!have_descr || !have_order || !have_shape)
    return fail(err, err_size, MAFAT_NPY_ERR_HEADER, path,
                "header lacks %s: %.120s",
                !have_descr   ? "'descr'"
                : !have_order ? "'fortran_order'"
                              : "'shape'",
                header);
  /* '<f4' is what NumPy writes for float32 on little-endian hosts. */
  if (strcmp(descr, "<f4") != 0)
    return fail(err, err_size, MAFAT_NPY_ERR_DTYPE, path,
                "wrong dtype '%s' (only little-endian float32 '<f4' is "
                "supported; convert with a.astype('<f4'))",
                descr);
  if (fortran)
    return fail(err, err_size, MAFAT_NPY_ERR_FORTRAN, path,
                "Fortran-order array (only C order is supported; save "
                "np.ascontiguousarray(a))");
  return MAFAT_NPY_OK;
}

int mafat_npy_read(const char *path, mafat_npy_array_t *out, char *err,
                   size_t err_size) {
  FILE *f;
  char *header = NULL;
  size_t header_len = 0;
  uint64_t count = 1, bytes;
  size_t got;
  int32_t i;
  int status;
  void *mem = NULL;
  char shape_text[256];

  if (err && err_size)
    err[0] = '\0';
  if (!path || !out)
    return fail(err, err_size, MAFAT_NPY_ERR_ARGUMENT, path,
                "NULL argument to mafat_npy_read");
  memset(out, 0, sizeof(*out));
  f = fopen(path, "rb");
  if (!f)
    return fail(err, err_size, MAFAT_NPY_ERR_IO, path, "cannot open: %s",
                strerror(errno));

  status = readHeader(f, path, &header, &header_len, err, err_size);
  if (status == MAFAT_NPY_OK)
    status = parseHeader(header, header_len, path, out, err, err_size);
  free(header);
  if (status != MAFAT_NPY_OK)
    goto done;

  for (i = 0; i < out->rank; ++i) {
    uint64_t d = (uint64_t)out->shape[i];
    if (d != 0 && count > (UINT64_MAX / 4) / d) {
      status =
          fail(err, err_size, MAFAT_NPY_ERR_SHAPE, path, "shape is too large");
      goto done;
    }
    count *= d;
  }
  bytes = count * 4;
  if (bytes > (uint64_t)SIZE_MAX) {
    status = fail(err, err_size, MAFAT_NPY_ERR_SHAPE, path,
                  "shape is too large for this address space");
    goto done;
  }
  /* Never a zero-size request: callers may treat NULL data as an error. */
  if (posix_memalign(&mem, MAFAT_NPY_DATA_ALIGN,
                     bytes ? (size_t)bytes : MAFAT_NPY_DATA_ALIGN) != 0) {
    mem = NULL;
    status =
        fail(err, err_size, MAFAT_NPY_ERR_NOMEM, path,
             "out of memory for %llu data bytes", (unsigned long long)bytes);
    goto done;
  }
  got = fread(mem, 1, (size_t)bytes, f);
  if (got != (size_t)bytes) {
    formatShape(shape_text, sizeof(shape_text), out->rank, out->shape);
    if (ferror(f))
      status = fail(err, err_size, MAFAT_NPY_ERR_IO, path, "read failed: %s",
                    strerror(errno));
    else
      status =
          fail(err, err_size, MAFAT_NPY_ERR_TRUNCATED, path,
               "truncated data: shape %s needs %llu bytes, file has "
               "only %llu",
               shape_text, (unsigned long long)bytes, (unsigned long long)got);
    free(mem);
    mem = NULL;
    goto done;
  }
  if (hostIsBigEndian())
    swapBytes32((float *)mem, count);
  out->data = (float *)mem;
  out->count = count;

done:
  fclose(f);
  if (status != MAFAT_NPY_OK) {
    out->data = NULL;
    out->count = 0;
  }
  return status;
}

/*===-- Writing -----------------------------------------------------------===*/

int mafat_npy_write(const char *path, const float *data, int32_t rank,
                    const int64_t *shape, char *err, size_t err_size) {
  /* 10-byte preamble + dict + padding + '\n'; a 32-d shape fits easily. */
  char header[1024];
  char shape_text[MAFAT_NPY_MAX_RANK * 24 + 8];
  unsigned char pre[kMagicLen + 4];
  size_t len, total;
  uint64_t count = 1;
  int32_t i;
  FILE *f;
  int ok;

  if (err && err_size)
    err[0] = '\0';
  if (!path || (!data && rank > 0) || rank < 0 || rank > MAFAT_NPY_MAX_RANK ||
      (rank > 0 && !shape))
    return fail(err, err_size, MAFAT_NPY_ERR_ARGUMENT, path,
                "invalid arguments to mafat_npy_write");
  for (i = 0; i < rank; ++i) {
    if (shape[i] < 0)
      return fail(err, err_size, MAFAT_NPY_ERR_SHAPE, path,
                  "negative dimension %lld", (long long)shape[i]);
    if (shape[i] != 0 && count > (UINT64_MAX / 4) / (uint64_t)shape[i])
      return fail(err, err_size, MAFAT_NPY_ERR_SHAPE, path,
                  "shape is too large");
    count *= (uint64_t)shape[i];
  }
  if (count * 4 > (uint64_t)SIZE_MAX)
    return fail(err, err_size, MAFAT_NPY_ERR_SHAPE, path,
                "shape is too large for this address space");
  if (count > 0 && !data)
    return fail(err, err_size, MAFAT_NPY_ERR_ARGUMENT, path, "NULL data");

  formatShape(shape_text, sizeof(shape_text), rank, shape);
  len = (size_t)snprintf(header, sizeof(header),
                         "{'descr': '<f4', 'fortran_order': False, "
                         "'shape': %s, }",
                         shape_text);
  /* Pad with spaces so the data starts 64-byte aligned, like NumPy. */
  total = sizeof(pre) + len + 1;
  while (total % kHeaderAlign != 0 && len + 1 < sizeof(header)) {
    header[len++] = ' ';
    ++total;
  }
  header[len++] = '\n';

  memcpy(pre, kMagic, kMagicLen);
  pre[kMagicLen] = 1; /* version 1.0: 16-bit header length */
  pre[kMagicLen + 1] = 0;
  pre[kMagicLen + 2] = (unsigned char)(len & 0xff);
  pre[kMagicLen + 3] = (unsigned char)((len >> 8) & 0xff);

  f = fopen(path, "wb");
  if (!f)
    return fail(err, err_size, MAFAT_NPY_ERR_IO, path,
                "cannot open for writing: %s", strerror(errno));
  ok = fwrite(pre, 1, sizeof(pre), f) == sizeof(pre) &&
       fwrite(header, 1, len, f) == len;
  if (ok && count > 0) {
    if (!hostIsBigEndian()) {
      ok = fwrite(data, 4, (size_t)count, f) == (size_t)count;
    } else {
      /* Swap through a small buffer; data is const. */
      float chunk[1024];
      uint64_t done = 0;
      while (ok && done < count) {
        size_t n = (size_t)(count - done < 1024 ? count - done : 1024);
        memcpy(chunk, data + done, n * 4);
        swapBytes32(chunk, n);
        ok = fwrite(chunk, 4, n, f) == n;
        done += n;
      }
    }
  }
  if (!ok) {
    int saved = errno;
    fclose(f);
    return fail(err, err_size, MAFAT_NPY_ERR_IO, path, "write failed: %s",
                strerror(saved));
  }
  if (fclose(f) != 0)
    return fail(err, err_size, MAFAT_NPY_ERR_IO, path, "write failed: %s",
                strerror(errno));
  return MAFAT_NPY_OK;
}

void mafat_npy_free(mafat_npy_array_t *arr) {
  if (!arr)
    return;
  free(arr->data);
  arr->data = NULL;
  arr->count = 0;
}
