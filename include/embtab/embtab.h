/* embtab/embtab.h: the C API of embtab, for C runtimes and for other languages (Rust, Go,
 * Zig, Python) that reach a library through a C ABI. Valid C11 and C++; includes only
 * <stddef.h>, <stdint.h> and embtab/export.h (the EMBTAB_API attribute, plain C).
 *
 *   embtab_error err;
 *   embtab_table* t = embtab_table_from_f32(weights, vocab, dim, EMBTAB_DTYPE_F32, &err);
 *   if (t == NULL) { fprintf(stderr, "%s\n", err.message); return 1; }
 *   if (embtab_lookup_i32(t, ids, n, out, n * dim, 0, &err) != EMBTAB_OK)
 *     fprintf(stderr, "%s\n", err.message);   // out was not touched
 *   embtab_table_free(t);
 *
 * A thin layer over the C++ API (embtab.hpp): the same tables, the same kernels, the same
 * results bit for bit, the same checks. Link with libembtab (pkg-config: embtab).
 *
 * Common rules:
 *   - Nothing throws or aborts across this boundary. Constructors return NULL on failure and
 *     lookups return the error code; both fill *error when `error` is not NULL.
 *   - `error` may be NULL everywhere. When it is not: on failure it gets the code, the
 *     position (lookups: the index of the first bad id or position; 0 otherwise) and a
 *     one-line English message naming the bad values; on success code EMBTAB_OK, position
 *     0 and an empty message.
 *   - Thread safety: tables are immutable; any number of threads may look up from one table
 *     at once (each writing its own out). A table must not be freed while a lookup on it runs.
 *   - Memory: a table owns what it allocated and frees it in embtab_table_free. Strings
 *     returned (names, ISA, version) are static and never freed.
 *   - Stability: existing functions, types, members and values never change; new ones are
 *     only appended. "(v0.1)" below marks what the first release (0.1.0) has.
 */
#ifndef EMBTAB_EMBTAB_H
#define EMBTAB_EMBTAB_H

#include <stddef.h>
#include <stdint.h>

#include "embtab/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A table: rows x dim values of one dtype (embtab::table). Opaque; made by the embtab_table_*
 * constructors, released with embtab_table_free. (v0.1) */
typedef struct embtab_table embtab_table;

/* Why a call failed. EMBTAB_OK .. EMBTAB_POSITION_OUT_OF_RANGE are embtab::errc's values. (v0.1) */
typedef enum {
  EMBTAB_OK = 0,
  EMBTAB_ID_OUT_OF_RANGE,       /* an id < 0 or >= rows (or >= shard_vocab); position = its index */
  EMBTAB_SIZE_MISMATCH,         /* out_len does not fit n rows of dim (and the stride) */
  EMBTAB_INVALID_ARGUMENT,      /* a NULL pointer where one is needed, an option out of its
                                   domain, a shape or dtype a table cannot have */
  EMBTAB_POSITION_OUT_OF_RANGE, /* a position < 0 or >= the positions table's rows;
                                   position = the index into ids whose position it is */
  EMBTAB_FILE_ERROR,            /* a model file that cannot be opened, mapped or parsed, or
                                   lacks the tensor asked for; the message names the path */
  EMBTAB_OUT_OF_MEMORY          /* memory could not be allocated */
} embtab_errc;

/* What went wrong, filled by every function that takes one (when not NULL). (v0.1) */
typedef struct {
  embtab_errc code;
  size_t position;   /* lookups: index into ids of the first bad id or position; else 0 */
  char message[256]; /* NUL-terminated; truncated to 255 bytes if longer */
} embtab_error;

/* The storage types, embtab::dtype's values (the registry's order; dtype.hpp describes each
 * layout). Functions take them as int; new types are only appended. (v0.1) */
enum {
  EMBTAB_DTYPE_F32 = 0,
  EMBTAB_DTYPE_F16 = 1,
  EMBTAB_DTYPE_BF16 = 2,
  EMBTAB_DTYPE_INT8_ROWWISE = 3,
  EMBTAB_DTYPE_Q8_0 = 4,
  EMBTAB_DTYPE_Q4_0 = 5,
  EMBTAB_DTYPE_Q4_K = 6,
  EMBTAB_DTYPE_Q6_K = 7
};

/* ---------------------------------------------------------------------------------------
 * Dtypes, ISA, version
 * ------------------------------------------------------------------------------------- */

/* The dtype named exactly `name` ("f32", "f16", "bf16", "int8_rowwise", "q8_0", "q4_0", "q4_k",
 * "q6_k"; case-sensitive); -1 if unknown or name is NULL. (v0.1) */
EMBTAB_API int embtab_dtype_from_name(const char* name);

/* The registry's name of `dtype` (static storage); NULL if it is not a registered dtype. (v0.1) */
EMBTAB_API const char* embtab_dtype_name(int dtype);

/* The kernel set lookups use: "avx512bw", "avx2", "sse2" or "scalar" (static storage). The
 * first call chooses it (environment variable EMBTAB_ISA may pick a lower one). (v0.1) */
EMBTAB_API const char* embtab_isa(void);

/* The library's version, e.g. "0.1.0" (static storage). (v0.1) */
EMBTAB_API const char* embtab_version(void);

/* ---------------------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------------------- */

/* An owning table made from rows x dim fp32 weights (row-major), converted to `dtype` exactly
 * as embtab::table::from_f32 converts (f32, f16, bf16, int8_rowwise, q8_0, q4_0; q4_k and q6_k
 * have no quantizer: use embtab_table_wrap or embtab_table_open). The weights are copied; the
 * caller keeps its buffer. 64-byte aligned rows. NULL on failure:
 *   EMBTAB_INVALID_ARGUMENT  weights NULL, rows or dim 0, rows * dim overflowing, an unknown
 *                            dtype or one without an fp32 encoder, dim not a multiple of the
 *                            dtype's block, a non-finite row for the quantized types
 *   EMBTAB_OUT_OF_MEMORY     the table's memory could not be had
 * (v0.1) */
EMBTAB_API embtab_table* embtab_table_from_f32(const float* weights, size_t rows, size_t dim,
                                               int dtype, embtab_error* error);

/* A view of rows the caller owns, read in place (embtab::table::wrap): row r starts at
 * (const char*)memory + r * row_stride and holds row_bytes(dtype, dim) bytes in the registry's
 * layout (dtype.hpp; ggml's blocks as GGUF stores them), at any alignment. row_stride 0 means
 * packed rows. The caller keeps `memory` alive and unchanged until embtab_table_free; only bytes
 * inside the rows are read. `bytes` is the size of `memory`: it must be at least
 * (rows - 1) * row_stride + row_bytes. Allocates only the small handle. NULL on failure:
 *   EMBTAB_INVALID_ARGUMENT  memory NULL, rows or dim 0, an unknown dtype, dim not a multiple
 *                            of the block, row_stride below row_bytes, `bytes` too small (the
 *                            message names the sizes)
 *   EMBTAB_OUT_OF_MEMORY     the handle could not be allocated
 * (v0.1) */
EMBTAB_API embtab_table* embtab_table_wrap(const void* memory, size_t bytes, size_t rows,
                                           size_t dim, int dtype, size_t row_stride,
                                           embtab_error* error);

/* A table over a 2-D tensor of a GGUF or safetensors file (embtab::model_file): the tensor
 * named `tensor_name`, or with tensor_name NULL the model's token table (GGUF
 * token_embd.weight; safetensors: wte.weight, *embed_tokens.weight or *word_embeddings.weight).
 * copy == 0: a view of the read-only memory-mapped file (only rows looked up are paged in);
 * the mapping lives until embtab_table_free. copy != 0: an owning 64-byte aligned copy of the
 * tensor, and the file is unmapped before this returns. Safe on malformed files (every size
 * and offset is checked). NULL on failure:
 *   EMBTAB_INVALID_ARGUMENT  path NULL
 *   EMBTAB_FILE_ERROR        the file cannot be opened or mapped, is neither format, is
 *                            malformed, has no such tensor, no token table, or the tensor is
 *                            not one embtab reads; the message starts with the path
 *   EMBTAB_OUT_OF_MEMORY     memory for the parse or the copy could not be had
 * (v0.1) */
EMBTAB_API embtab_table* embtab_table_open(const char* path, const char* tensor_name, int copy,
                                           embtab_error* error);

/* Frees a table and whatever it owns (its rows, or its reference to a mapped file). NULL is
 * fine. No lookup may be running on it. (v0.1) */
EMBTAB_API void embtab_table_free(embtab_table* table);

/* The table's shape and dtype; 0, 0 and -1 for NULL. (v0.1) */
EMBTAB_API size_t embtab_table_rows(const embtab_table* table);
EMBTAB_API size_t embtab_table_dim(const embtab_table* table);
EMBTAB_API int embtab_table_dtype(const embtab_table* table);

/* ---------------------------------------------------------------------------------------
 * Lookups
 * ------------------------------------------------------------------------------------- */

/* Writes n rows of dim fp32 values: row i of out (out[i * dim .. i * dim + dim)) is row
 * ids[i] of the table, decoded exactly as embtab::lookup decodes it (bit-identical to the
 * C++ API). out_len counts floats and must be n * dim. threads: 0 embtab's default team, 1
 * serial on the caller's thread, k > 1 at most k threads (small batches run serially).
 * Checks everything before writing: on any error out is not touched.
 *   EMBTAB_INVALID_ARGUMENT      table NULL, ids NULL with n > 0, out NULL with out_len > 0,
 *                                threads < 0
 *   EMBTAB_SIZE_MISMATCH         out_len != n * dim
 *   EMBTAB_ID_OUT_OF_RANGE       an id < 0 or >= rows; error->position = its index
 * n == 0 with out_len == 0 is EMBTAB_OK (ids and out may then be NULL). Does not allocate.
 * Thread-safe. (v0.1) */
EMBTAB_API embtab_errc embtab_lookup_i32(const embtab_table* table, const int32_t* ids, size_t n,
                                         float* out, size_t out_len, int threads,
                                         embtab_error* error);
EMBTAB_API embtab_errc embtab_lookup_i64(const embtab_table* table, const int64_t* ids, size_t n,
                                         float* out, size_t out_len, int threads,
                                         embtab_error* error);

/* A caller's thread pool (embtab::parallel_for): run(context, tasks, task, task_context)
 * must call task(task_context, i) once for every i in [0, tasks), on any threads, and return
 * when all have returned. embtab calls it at most once per lookup (never for one that runs
 * serially); the tasks do not throw or block on each other. (v0.1) */
typedef void (*embtab_parallel_run)(void* context, size_t tasks,
                                    void (*task)(void* task_context, size_t i),
                                    void* task_context);

/* Options of embtab_lookup_ex (embtab::lookup_options; lookup.hpp says what each does).
 * Get the defaults from embtab_lookup_options_default() and change what you need.
 *
 * Forward compatibility: struct_size must be sizeof(embtab_lookup_options) of the header the
 * caller was compiled with. A later embtab only appends members and reads only the members an
 * older caller's struct_size covers (defaults for the rest). A struct_size smaller than the
 * first version's (v0.1) size, or larger than this library knows with a nonzero byte past
 * what it knows, is EMBTAB_INVALID_ARGUMENT (as Linux's copy_struct_from_user).
 * All members (v0.1): */
typedef struct {
  size_t struct_size;      /* sizeof(embtab_lookup_options) */
  int threads;             /* as in embtab_lookup_i32; default 0 */
  int out_dtype;           /* output element type: EMBTAB_DTYPE_F32 (float, default),
                              EMBTAB_DTYPE_F16 or EMBTAB_DTYPE_BF16 (uint16_t bits, rounded to
                              nearest even); any other value is EMBTAB_INVALID_ARGUMENT */
  size_t out_row_stride;   /* elements from one output row to the next; 0 (default): dim.
                              Must be >= dim; the elements between rows are never written */
  float scale;             /* out = scale * row; must be finite; default 1 */
  const embtab_table* positions; /* when not NULL: out = scale * row + row p of positions
                              (same dim, any dtype), p = position_start + i, or
                              position_ids[i] when position_ids_len > 0. Default NULL */
  int64_t position_start;  /* default 0 */
  const int64_t* position_ids; /* position_ids_len entries, one per id; default NULL */
  size_t position_ids_len; /* default 0 */
  int streaming_stores;    /* nonzero: non-temporal stores (a hint; same results); default 0 */
  embtab_parallel_run parallel_run; /* when not NULL, a split lookup runs its tasks through it
                              instead of embtab's threads; default NULL */
  void* parallel_context;  /* passed to parallel_run as `context` */
  int64_t shard_begin;     /* vocab shard: when shard_vocab != 0 the table holds rows    */
  int64_t shard_end;       /* [shard_begin, shard_end) of a shard_vocab-row table; ids  */
  int64_t shard_vocab;     /* must be in [0, shard_vocab), ids outside the shard give rows
                              of +0.0. Default 0, 0, 0: not sharded */
} embtab_lookup_options;

/* The defaults: struct_size = sizeof(embtab_lookup_options), scale = 1, out_dtype f32,
 * everything else 0 / NULL. (v0.1) */
EMBTAB_API embtab_lookup_options embtab_lookup_options_default(void);

/* The general lookup: embtab_lookup_i32/_i64 plus every option. ids points to n int32_t
 * (id_bits 32) or int64_t (id_bits 64); out to elements of options->out_dtype (float, or
 * uint16_t for f16/bf16), aligned for that type; out_len counts those elements. With
 * out_row_stride 0, out_len must be n * dim; with a stride s, between (n - 1) * s + dim and
 * n * s (0 for n == 0). options NULL means the defaults. Row i of out holds
 *   v = value j of row ids[i] (fp32), v = v * scale when scale != 1, v = v + value j of the
 *   position row when positions is set, then rounded to out_dtype
 * exactly as embtab::lookup computes it (bit-identical). Checks everything before writing:
 * on any error out is not touched.
 *   EMBTAB_INVALID_ARGUMENT      table NULL, id_bits not 32 or 64, ids NULL with n > 0, out
 *                                NULL with out_len > 0, position_ids NULL with
 *                                position_ids_len > 0, a bad struct_size or out_dtype, and
 *                                embtab::lookup's: threads < 0, 0 < out_row_stride < dim, a
 *                                non-finite scale, positions of another dim, position ids
 *                                not one per id (or without positions), a bad shard
 *   EMBTAB_SIZE_MISMATCH         out_len outside the bounds above
 *   EMBTAB_ID_OUT_OF_RANGE       an id < 0 or >= rows (shard_vocab when sharded);
 *                                error->position = its index
 *   EMBTAB_POSITION_OUT_OF_RANGE a position outside the positions table;
 *                                error->position = the index into ids
 * Does not allocate. Thread-safe (one call at a time uses embtab's pool; a concurrent one
 * runs serially). (v0.1) */
EMBTAB_API embtab_errc embtab_lookup_ex(const embtab_table* table, const void* ids, int id_bits,
                                        size_t n, void* out, size_t out_len,
                                        const embtab_lookup_options* options,
                                        embtab_error* error);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* EMBTAB_EMBTAB_H */
