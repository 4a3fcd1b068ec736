// The C API (include/embtab/embtab.h) over the C++ API, and nothing else: argument checks the
// C++ types make for free (NULL pointers), exceptions turned into codes, errc mapped to
// embtab_errc, messages copied with truncation.
#include "embtab/embtab.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

#include "embtab/embtab.hpp"

struct embtab_table {
  embtab::table table;  // a view of a mapped file keeps the mapping alive itself
};

namespace {

using embtab::dtype;
using embtab::errc;

// The C codes are the C++ ones where both exist; the C API appends two of its own.
static_assert(EMBTAB_OK == static_cast<int>(errc::ok));
static_assert(EMBTAB_ID_OUT_OF_RANGE == static_cast<int>(errc::id_out_of_range));
static_assert(EMBTAB_SIZE_MISMATCH == static_cast<int>(errc::size_mismatch));
static_assert(EMBTAB_INVALID_ARGUMENT == static_cast<int>(errc::invalid_argument));
static_assert(EMBTAB_POSITION_OUT_OF_RANGE == static_cast<int>(errc::position_out_of_range));

// One source of truth for dtypes: the registry's enum (c_api_test checks the names).
static_assert(EMBTAB_DTYPE_F32 == static_cast<int>(dtype::f32));
static_assert(EMBTAB_DTYPE_F16 == static_cast<int>(dtype::f16));
static_assert(EMBTAB_DTYPE_BF16 == static_cast<int>(dtype::bf16));
static_assert(EMBTAB_DTYPE_INT8_ROWWISE == static_cast<int>(dtype::int8_rowwise));
static_assert(EMBTAB_DTYPE_Q8_0 == static_cast<int>(dtype::q8_0));
static_assert(EMBTAB_DTYPE_Q4_0 == static_cast<int>(dtype::q4_0));
static_assert(EMBTAB_DTYPE_Q4_K == static_cast<int>(dtype::q4_k));
static_assert(EMBTAB_DTYPE_Q6_K == static_cast<int>(dtype::q6_k));

// No default: -Wswitch names an errc appended without a C code.
embtab_errc to_c(errc code) noexcept {
  switch (code) {
    case errc::ok: return EMBTAB_OK;
    case errc::id_out_of_range: return EMBTAB_ID_OUT_OF_RANGE;
    case errc::size_mismatch: return EMBTAB_SIZE_MISMATCH;
    case errc::invalid_argument: return EMBTAB_INVALID_ARGUMENT;
    case errc::position_out_of_range: return EMBTAB_POSITION_OUT_OF_RANGE;
  }
  return EMBTAB_INVALID_ARGUMENT;
}

void set_message(embtab_error* error, std::string_view text) noexcept {
  const std::size_t n = std::min(text.size(), sizeof error->message - 1);
  std::memcpy(error->message, text.data(), n);
  error->message[n] = '\0';
}

// Fills *error (when there is one) and returns code.
embtab_errc fail(embtab_error* error, embtab_errc code, std::string_view message,
                 std::size_t position = 0) noexcept {
  if (error != nullptr) {
    error->code = code;
    error->position = position;
    set_message(error, message);
  }
  return code;
}

void succeed(embtab_error* error) noexcept {
  if (error != nullptr) {
    error->code = EMBTAB_OK;
    error->position = 0;
    error->message[0] = '\0';
  }
}

// A failed lookup's status: its code, position and message (the code's name if even the
// message cannot be had).
embtab_errc fail(embtab_error* error, const embtab::status& s) noexcept {
  if (error == nullptr) return to_c(s.code());
  try {
    return fail(error, to_c(s.code()), s.message(), s.position());
  } catch (...) {
    return fail(error, to_c(s.code()), embtab::to_string(s.code()), s.position());
  }
}

// Runs a constructor's body; exceptions become NULL and a code. `other` is the code of an
// exception that is neither bad_alloc nor invalid_argument nor file_error.
template <class Make>
embtab_table* construct(embtab_error* error, embtab_errc other, Make&& make) noexcept {
  try {
    embtab_table* t = new embtab_table{make()};
    succeed(error);
    return t;
  } catch (const std::bad_alloc&) {
    fail(error, EMBTAB_OUT_OF_MEMORY, "out of memory");
  } catch (const embtab::file_error& e) {
    fail(error, EMBTAB_FILE_ERROR, e.what());
  } catch (const std::invalid_argument& e) {
    fail(error, EMBTAB_INVALID_ARGUMENT, e.what());
  } catch (const std::exception& e) {
    fail(error, other, e.what());
  } catch (...) {
    fail(error, other, "unknown exception");
  }
  return nullptr;
}

// Thrown inside construct() for an argument the C++ API cannot see (a NULL pointer).
struct c_argument_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// A dtype int the registry knows, or invalid_argument naming it.
dtype checked_dtype(int value, const char* function) {
  if (value < 0 || value > 255 || embtab_dtype_name(value) == nullptr)
    throw c_argument_error(std::string(function) + ": dtype " + std::to_string(value) +
                           " is not a registered dtype");
  return static_cast<dtype>(value);
}

// The tensor a C caller names (NULL: the token table), or file_error as the embtab tool words it.
const embtab::tensor_info& pick_tensor(const embtab::model_file& file, const char* name) {
  const std::string path = file.path().string();
  if (name == nullptr) {
    if (const embtab::tensor_info* t = file.token_embedding()) return *t;
    throw embtab::file_error(path + ": no token table found (GGUF: token_embd.weight; safetensors: exactly one 2-D "
                             "wte.weight, *embed_tokens.weight or *word_embeddings.weight)");
  }
  if (const embtab::tensor_info* t = file.find(name)) return *t;
  if (const std::string_view why = file.skip_reason(name); !why.empty())
    throw embtab::file_error(path + ": tensor '" + name + "' cannot be read: " + std::string(why));
  throw embtab::file_error(path + ": no tensor named '" + name + "'");
}

// The C++ options of an embtab_lookup_options, after the checks only C needs.
struct converted {
  embtab::lookup_options options;
  int out_dtype = EMBTAB_DTYPE_F32;
};

embtab_errc convert(const embtab_lookup_options* in, converted& out, embtab_error* error) noexcept {
  if (in == nullptr) return EMBTAB_OK;
  constexpr std::size_t known = sizeof(embtab_lookup_options);
  constexpr std::size_t v1 = sizeof(embtab_lookup_options);  // the first version's size
  if (in->struct_size < v1)
    return fail(error, EMBTAB_INVALID_ARGUMENT,
                "embtab_lookup_options::struct_size is " + std::to_string(in->struct_size) +
                    ", expected at least " + std::to_string(v1) + " (sizeof(embtab_lookup_options))");
  if (in->struct_size > known) {
    const auto* extra = reinterpret_cast<const unsigned char*>(in) + known;
    if (std::any_of(extra, extra + (in->struct_size - known), [](unsigned char b) { return b != 0; }))
      return fail(error, EMBTAB_INVALID_ARGUMENT,
                  "embtab_lookup_options::struct_size is " + std::to_string(in->struct_size) +
                      " and the bytes past the " + std::to_string(known) +
                      " this library knows are not all zero (options of a newer embtab)");
  }
  if (in->out_dtype != EMBTAB_DTYPE_F32 && in->out_dtype != EMBTAB_DTYPE_F16 && in->out_dtype != EMBTAB_DTYPE_BF16)
    return fail(error, EMBTAB_INVALID_ARGUMENT,
                "embtab_lookup_options::out_dtype is " + std::to_string(in->out_dtype) +
                    ", expected EMBTAB_DTYPE_F32, EMBTAB_DTYPE_F16 or EMBTAB_DTYPE_BF16");
  if (in->position_ids == nullptr && in->position_ids_len > 0)
    return fail(error, EMBTAB_INVALID_ARGUMENT,
                "embtab_lookup_options::position_ids is NULL with position_ids_len " +
                    std::to_string(in->position_ids_len));
  embtab::lookup_options& o = out.options;
  o.threads = in->threads;
  o.parallel = {.run = in->parallel_run, .context = in->parallel_context};
  o.shard = {.begin = in->shard_begin, .end = in->shard_end, .vocab = in->shard_vocab};
  o.out_row_stride = in->out_row_stride;
  o.scale = in->scale;
  o.positions = in->positions == nullptr ? nullptr : &in->positions->table;
  o.position_start = in->position_start;
  if (in->position_ids_len > 0) o.position_ids = {in->position_ids, in->position_ids_len};
  o.streaming_stores = in->streaming_stores != 0;
  out.out_dtype = in->out_dtype;
  return EMBTAB_OK;
}

template <class Id, class Out>
embtab_errc run_lookup(const embtab_table* table, const void* ids, std::size_t n, void* out,
                       std::size_t out_len, const embtab::lookup_options& options, embtab_error* error) noexcept {
  const embtab::status s = embtab::lookup(table->table, std::span<const Id>(static_cast<const Id*>(ids), n),
                                          std::span<Out>(static_cast<Out*>(out), out_len), options);
  if (!s.ok()) return fail(error, s);
  succeed(error);
  return EMBTAB_OK;
}

// The checks of pointers a C caller may pass as NULL.
embtab_errc check_pointers(const char* function, const embtab_table* table, const void* ids, std::size_t n,
                           const void* out, std::size_t out_len, embtab_error* error) noexcept {
  // The messages are built only on failure, and short enough for std::string's small buffer.
  if (table == nullptr) return fail(error, EMBTAB_INVALID_ARGUMENT, std::string(function) + ": table is NULL");
  if (ids == nullptr && n > 0)
    return fail(error, EMBTAB_INVALID_ARGUMENT,
                std::string(function) + ": ids is NULL with n " + std::to_string(n));
  if (out == nullptr && out_len > 0)
    return fail(error, EMBTAB_INVALID_ARGUMENT,
                std::string(function) + ": out is NULL with out_len " + std::to_string(out_len));
  return EMBTAB_OK;
}

// fail() with a message built from strings can throw bad_alloc while building it; these entry
// points are noexcept, so a message that cannot be built is replaced by a fixed one.
template <class Body>
embtab_errc guarded(embtab_error* error, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(error, EMBTAB_OUT_OF_MEMORY, "out of memory");
  } catch (...) {
    return fail(error, EMBTAB_INVALID_ARGUMENT, "unknown exception");
  }
}

}  // namespace

extern "C" {

int embtab_dtype_from_name(const char* name) {
  if (name == nullptr) return -1;
  const auto type = embtab::dtype_from_name(name);
  return type ? static_cast<int>(*type) : -1;
}

const char* embtab_dtype_name(int dtype) {
  for (const auto type : embtab::all_dtypes())
    if (static_cast<int>(type) == dtype) return embtab::to_string(type);
  return nullptr;
}

// active_isa() views a NUL-terminated literal (isa.hpp).
const char* embtab_isa(void) { return embtab::active_isa().data(); }

const char* embtab_version(void) { return EMBTAB_VERSION_STRING; }

embtab_table* embtab_table_from_f32(const float* weights, size_t rows, size_t dim, int dtype,
                                    embtab_error* error) {
  return construct(error, EMBTAB_INVALID_ARGUMENT, [&] {
    const embtab::dtype type = checked_dtype(dtype, "embtab_table_from_f32");
    std::size_t count = 0;
    if (__builtin_mul_overflow(rows, dim, &count))
      throw c_argument_error("embtab_table_from_f32: " + std::to_string(rows) + " rows x dim " +
                             std::to_string(dim) + " overflows size_t");
    if (weights == nullptr && count > 0)
      throw c_argument_error("embtab_table_from_f32: weights is NULL for " + std::to_string(rows) + " x " +
                             std::to_string(dim) + " values");
    return embtab::table::from_f32(std::span<const float>(weights, count), rows, dim, type);
  });
}

embtab_table* embtab_table_wrap(const void* memory, size_t bytes, size_t rows, size_t dim, int dtype,
                                size_t row_stride, embtab_error* error) {
  return construct(error, EMBTAB_INVALID_ARGUMENT, [&] {
    const embtab::dtype type = checked_dtype(dtype, "embtab_table_wrap");
    if (memory == nullptr)
      throw c_argument_error("embtab_table_wrap: memory is NULL (bytes " + std::to_string(bytes) + ")");
    // table::wrap checks bytes against (rows - 1) * row_stride + row_bytes, with overflow checks.
    return embtab::table::wrap(std::span<const std::byte>(static_cast<const std::byte*>(memory), bytes), rows,
                               dim, type, row_stride);
  });
}

embtab_table* embtab_table_open(const char* path, const char* tensor_name, int copy, embtab_error* error) {
  std::string where;  // for an exception that does not name the path
  return construct(error, EMBTAB_FILE_ERROR, [&] {
    if (path == nullptr) throw c_argument_error("embtab_table_open: path is NULL");
    where = path;
    try {
      const embtab::model_file file = embtab::model_file::open(path);
      return file.load(pick_tensor(file, tensor_name), copy != 0);
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const embtab::file_error&) {
      throw;
    } catch (const std::exception& e) {  // e.g. std::filesystem_error
      throw embtab::file_error(where + ": " + e.what());
    }
  });
}

void embtab_table_free(embtab_table* table) { delete table; }

size_t embtab_table_rows(const embtab_table* table) { return table == nullptr ? 0 : table->table.rows(); }
size_t embtab_table_dim(const embtab_table* table) { return table == nullptr ? 0 : table->table.dim(); }
int embtab_table_dtype(const embtab_table* table) {
  return table == nullptr ? -1 : static_cast<int>(table->table.type());
}

embtab_errc embtab_lookup_i32(const embtab_table* table, const int32_t* ids, size_t n, float* out,
                              size_t out_len, int threads, embtab_error* error) {
  return guarded(error, [&] {
    if (const embtab_errc c = check_pointers("embtab_lookup_i32", table, ids, n, out, out_len, error)) return c;
    return run_lookup<std::int32_t, float>(table, ids, n, out, out_len, {.threads = threads}, error);
  });
}

embtab_errc embtab_lookup_i64(const embtab_table* table, const int64_t* ids, size_t n, float* out,
                              size_t out_len, int threads, embtab_error* error) {
  return guarded(error, [&] {
    if (const embtab_errc c = check_pointers("embtab_lookup_i64", table, ids, n, out, out_len, error)) return c;
    return run_lookup<std::int64_t, float>(table, ids, n, out, out_len, {.threads = threads}, error);
  });
}

embtab_lookup_options embtab_lookup_options_default(void) {
  embtab_lookup_options o;
  std::memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.out_dtype = EMBTAB_DTYPE_F32;
  o.scale = 1.0f;
  return o;
}

embtab_errc embtab_lookup_ex(const embtab_table* table, const void* ids, int id_bits, size_t n, void* out,
                             size_t out_len, const embtab_lookup_options* options, embtab_error* error) {
  return guarded(error, [&]() -> embtab_errc {
    if (const embtab_errc c = check_pointers("embtab_lookup_ex", table, ids, n, out, out_len, error)) return c;
    if (id_bits != 32 && id_bits != 64)
      return fail(error, EMBTAB_INVALID_ARGUMENT,
                  "embtab_lookup_ex: id_bits is " + std::to_string(id_bits) + ", expected 32 or 64");
    converted c;
    if (const embtab_errc e = convert(options, c, error)) return e;
    const bool wide = id_bits == 64;
    switch (c.out_dtype) {
      case EMBTAB_DTYPE_F16:
        return wide ? run_lookup<std::int64_t, embtab::f16>(table, ids, n, out, out_len, c.options, error)
                    : run_lookup<std::int32_t, embtab::f16>(table, ids, n, out, out_len, c.options, error);
      case EMBTAB_DTYPE_BF16:
        return wide ? run_lookup<std::int64_t, embtab::bf16>(table, ids, n, out, out_len, c.options, error)
                    : run_lookup<std::int32_t, embtab::bf16>(table, ids, n, out, out_len, c.options, error);
      default:
        return wide ? run_lookup<std::int64_t, float>(table, ids, n, out, out_len, c.options, error)
                    : run_lookup<std::int32_t, float>(table, ids, n, out, out_len, c.options, error);
    }
  });
}

}  // extern "C"
