/* A C program on embtab's C API (embtab/embtab.h), built as C11 with -Wall -Wextra -Werror
 * -pedantic: in the tree (CTest c_consumer) and against the installed tree through pkg-config
 * (CTest consumer_pkg_config). Exits non-zero on any mismatch. */
#include <embtab/embtab.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                 \
  do {                                                              \
    if (!(cond)) {                                                  \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                     \
    }                                                               \
  } while (0)

int main(void) {
  enum { rows = 6, dim = 3 };
  float weights[rows * dim];
  for (int i = 0; i < rows * dim; ++i) weights[i] = (float)i * 0.5f - 2.0f;

  embtab_error err;
  embtab_table* t = embtab_table_from_f32(weights, rows, dim, EMBTAB_DTYPE_F32, &err);
  if (t == NULL) {
    fprintf(stderr, "embtab_table_from_f32: %s\n", err.message);
    return 1;
  }
  CHECK(embtab_table_rows(t) == rows && embtab_table_dim(t) == dim);
  CHECK(embtab_table_dtype(t) == embtab_dtype_from_name("f32"));

  /* The seed lesson's ids: rows 2, 3, 5 and 1, bit for bit. */
  const int32_t ids[] = {2, 3, 5, 1};
  float out[4 * dim];
  CHECK(embtab_lookup_i32(t, ids, 4, out, 4 * dim, 0, &err) == EMBTAB_OK && err.code == EMBTAB_OK);
  for (int i = 0; i < 4; ++i) CHECK(memcmp(&out[i * dim], &weights[ids[i] * dim], sizeof(float) * dim) == 0);

  /* A bad id: an error naming it, and out untouched. */
  const int64_t bad[] = {1, 6};
  float untouched[2 * dim] = {42.0f};
  CHECK(embtab_lookup_i64(t, bad, 2, untouched, 2 * dim, 0, &err) == EMBTAB_ID_OUT_OF_RANGE);
  CHECK(err.code == EMBTAB_ID_OUT_OF_RANGE && err.position == 1);
  CHECK(strcmp(err.message, "id 6 at position 1 is out of range [0, 6)") == 0);
  CHECK(untouched[0] == 42.0f && untouched[1] == 0.0f);

  /* Every option through embtab_lookup_ex: bf16 output with a stride, scaled, plus position rows. */
  embtab_lookup_options options = embtab_lookup_options_default();
  options.out_dtype = EMBTAB_DTYPE_BF16;
  options.out_row_stride = dim + 1;
  options.scale = 2.0f;
  options.positions = t;
  options.position_start = 0;
  uint16_t half[2 * (dim + 1)] = {0};
  CHECK(embtab_lookup_ex(t, ids, 32, 2, half, 2 * (dim + 1), &options, NULL) == EMBTAB_OK);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < dim; ++j) {
      const float v = weights[ids[i] * dim + j] * 2.0f + weights[i * dim + j];  /* exact in bf16 */
      uint32_t bits;
      memcpy(&bits, &v, sizeof bits);
      CHECK(half[i * (dim + 1) + j] == (uint16_t)(bits >> 16));
    }

  embtab_table_free(t);
  printf("c consumer ok (embtab %s, %s)\n", embtab_version(), embtab_isa());
  return 0;
}
