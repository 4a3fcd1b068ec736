// The C API (embtab/embtab.h), called from C++: every function, every error path with a NULL
// and a non-NULL embtab_error, and lookups bit-identical to the C++ API for every dtype of the
// registry, every output type and every option.
#include "embtab/embtab.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "embtab/embtab.hpp"
#include "reference.hpp"
#include "test_helpers.hpp"

namespace {

namespace fs = std::filesystem;
using embtab::dtype;
using embtab::table;
using embtab::test::refusal;

const fs::path models = fs::path(EMBTAB_FIXTURE_DIR) / "model";

// An error filled with garbage, so a test sees what a call wrote.
embtab_error garbage_error() {
  embtab_error e;
  std::memset(&e, 0x5A, sizeof e);
  e.code = static_cast<embtab_errc>(7);  // no such code, but a valid value of the enum
  return e;
}

// The message is NUL-terminated inside the array (and, for failures, not empty).
void expect_terminated(const embtab_error& e) {
  EXPECT_NE(std::memchr(e.message, '\0', sizeof e.message), nullptr);
}

void expect_ok(const embtab_error& e) {
  EXPECT_EQ(e.code, EMBTAB_OK);
  EXPECT_EQ(e.position, 0u);
  EXPECT_STREQ(e.message, "");
}

void expect_failed(const embtab_error& e, embtab_errc code, std::size_t position = 0) {
  EXPECT_EQ(e.code, code);
  EXPECT_EQ(e.position, position);
  expect_terminated(e);
  EXPECT_GT(std::strlen(e.message), 0u);
}

struct c_table_deleter {
  void operator()(embtab_table* t) const { embtab_table_free(t); }
};
using c_table = std::unique_ptr<embtab_table, c_table_deleter>;

// A constructor call, made with a NULL error and with a garbage-filled one: both must fail
// with the same NULL result; returns the filled error.
template <class Make>
embtab_error construct_fails(embtab_errc code, Make make) {
  c_table quiet(make(nullptr));
  EXPECT_EQ(quiet.get(), nullptr);
  embtab_error e = garbage_error();
  c_table t(make(&e));
  EXPECT_EQ(t.get(), nullptr);
  expect_failed(e, code);
  return e;
}

// Random stored rows of `type` (the registry's layout, packed), as the fuzzer draws them.
std::vector<std::uint8_t> random_stored(dtype type, std::size_t rows, std::size_t dim, std::uint32_t seed) {
  const std::size_t rb = embtab::row_bytes(type, dim);
  std::vector<std::uint8_t> bytes(rows * rb);
  std::mt19937 gen(seed);
  for (std::size_t r = 0; r < rows; ++r)
    EXPECT_TRUE(embtab::ref::random_row(type, dim, gen, r, bytes.data() + r * rb)) << embtab::to_string(type);
  return bytes;
}

// ---------------------------------------------------------------------------------------
// Dtypes, ISA, version, codes

TEST(CApi, DtypeNamesRoundTripOverTheRegistry) {
  for (const dtype type : embtab::all_dtypes()) {
    const int value = static_cast<int>(type);
    ASSERT_NE(embtab_dtype_name(value), nullptr) << value;
    EXPECT_STREQ(embtab_dtype_name(value), embtab::to_string(type));
    EXPECT_EQ(embtab_dtype_from_name(embtab::to_string(type)), value);
    EXPECT_EQ(embtab_dtype_from_name(embtab_dtype_name(value)), value);
  }
  for (const int unknown : {-1, static_cast<int>(embtab::all_dtypes().size()), 255, 256, 1000,
                            std::numeric_limits<int>::min(), std::numeric_limits<int>::max()})
    EXPECT_EQ(embtab_dtype_name(unknown), nullptr) << unknown;
  for (const char* unknown : {"", "F32", "f64", "int8", "q4_1", "f32 ", "unknown"})
    EXPECT_EQ(embtab_dtype_from_name(unknown), -1) << unknown;
  EXPECT_EQ(embtab_dtype_from_name(nullptr), -1);
}

TEST(CApi, DtypeConstantsAreTheRegistrysNames) {
  const std::pair<int, const char*> constants[] = {
      {EMBTAB_DTYPE_F32, "f32"},   {EMBTAB_DTYPE_F16, "f16"},   {EMBTAB_DTYPE_BF16, "bf16"},
      {EMBTAB_DTYPE_INT8_ROWWISE, "int8_rowwise"}, {EMBTAB_DTYPE_Q8_0, "q8_0"},
      {EMBTAB_DTYPE_Q4_0, "q4_0"}, {EMBTAB_DTYPE_Q4_K, "q4_k"}, {EMBTAB_DTYPE_Q6_K, "q6_k"}};
  ASSERT_EQ(std::size(constants), embtab::all_dtypes().size()) << "a new dtype needs an EMBTAB_DTYPE_ constant";
  for (const auto& [value, name] : constants) EXPECT_STREQ(embtab_dtype_name(value), name);
}

TEST(CApi, IsaAndVersionAreTheCppValues) {
  ASSERT_NE(embtab_isa(), nullptr);
  EXPECT_EQ(std::string(embtab_isa()), embtab::active_isa());
  for (const auto isa : embtab::supported_isas()) {
    ASSERT_TRUE(embtab::set_isa(isa));
    EXPECT_EQ(std::string(embtab_isa()), isa);
  }
  embtab::set_isa(embtab::supported_isas().front());
  ASSERT_NE(embtab_version(), nullptr);
  EXPECT_STREQ(embtab_version(), EMBTAB_VERSION_STRING);
}

TEST(CApi, EveryErrcHasACCode) {
  // c_api.cpp maps each errc with a switch (no default: -Wswitch names a new one) and
  // static_asserts the shared values. An errc appended after position_out_of_range needs a
  // C code and this test extended.
  EXPECT_STREQ(embtab::to_string(static_cast<embtab::errc>(static_cast<int>(embtab::errc::position_out_of_range) + 1)),
               "unknown");
  EXPECT_EQ(EMBTAB_FILE_ERROR, 5);
  EXPECT_EQ(EMBTAB_OUT_OF_MEMORY, 6);
}

TEST(CApi, NullTableHasNoShape) {
  EXPECT_EQ(embtab_table_rows(nullptr), 0u);
  EXPECT_EQ(embtab_table_dim(nullptr), 0u);
  EXPECT_EQ(embtab_table_dtype(nullptr), -1);
  embtab_table_free(nullptr);
}

TEST(CApi, OptionsDefaults) {
  const embtab_lookup_options o = embtab_lookup_options_default();
  EXPECT_EQ(o.struct_size, sizeof(embtab_lookup_options));
  EXPECT_EQ(o.threads, 0);
  EXPECT_EQ(o.out_dtype, EMBTAB_DTYPE_F32);
  EXPECT_EQ(o.out_row_stride, 0u);
  EXPECT_EQ(o.scale, 1.0f);
  EXPECT_EQ(o.positions, nullptr);
  EXPECT_EQ(o.position_start, 0);
  EXPECT_EQ(o.position_ids, nullptr);
  EXPECT_EQ(o.position_ids_len, 0u);
  EXPECT_EQ(o.streaming_stores, 0);
  EXPECT_EQ(o.parallel_run, nullptr);
  EXPECT_EQ(o.parallel_context, nullptr);
  EXPECT_EQ(o.shard_begin, 0);
  EXPECT_EQ(o.shard_end, 0);
  EXPECT_EQ(o.shard_vocab, 0);
}

// ---------------------------------------------------------------------------------------
// Constructors

TEST(CApi, FromF32MatchesTheCppTableForEveryEncoder) {
  const std::size_t rows = 9, dim = 64;
  const auto w = embtab::ref::random_weights(rows, dim, 3);
  for (const dtype type : embtab::all_dtypes()) {
    if (!embtab::has_f32_encoder(type)) continue;
    embtab_error e = garbage_error();
    c_table t(embtab_table_from_f32(w.data(), rows, dim, static_cast<int>(type), &e));
    ASSERT_NE(t.get(), nullptr) << embtab::to_string(type) << ": " << e.message;
    expect_ok(e);
    EXPECT_EQ(embtab_table_rows(t.get()), rows);
    EXPECT_EQ(embtab_table_dim(t.get()), dim);
    EXPECT_EQ(embtab_table_dtype(t.get()), static_cast<int>(type));
    c_table quiet(embtab_table_from_f32(w.data(), rows, dim, static_cast<int>(type), nullptr));
    EXPECT_NE(quiet.get(), nullptr);

    const table cpp = table::from_f32(w, rows, dim, type);
    std::vector<std::int32_t> ids(rows);
    for (std::size_t i = 0; i < rows; ++i) ids[i] = static_cast<std::int32_t>(rows - 1 - i);
    std::vector<float> want(rows * dim), got(rows * dim);
    ASSERT_TRUE(embtab::lookup(cpp, ids, want).ok());
    ASSERT_EQ(embtab_lookup_i32(t.get(), ids.data(), rows, got.data(), got.size(), 1, nullptr), EMBTAB_OK);
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0) << embtab::to_string(type);
  }
}

TEST(CApi, FromF32Errors) {
  const std::vector<float> w(64 * 4, 1.0f);
  const float* p = w.data();
  const auto from = [&](const float* weights, std::size_t rows, std::size_t dim, int type) {
    return [=](embtab_error* e) { return embtab_table_from_f32(weights, rows, dim, type, e); };
  };
  embtab_error e = construct_fails(EMBTAB_INVALID_ARGUMENT, from(nullptr, 2, 3, EMBTAB_DTYPE_F32));
  EXPECT_STREQ(e.message, "embtab_table_from_f32: weights is NULL for 2 x 3 values");
  construct_fails(EMBTAB_INVALID_ARGUMENT, from(nullptr, 0, 0, EMBTAB_DTYPE_F32));  // rows 0
  construct_fails(EMBTAB_INVALID_ARGUMENT, from(p, 0, 3, EMBTAB_DTYPE_F32));
  construct_fails(EMBTAB_INVALID_ARGUMENT, from(p, 2, 0, EMBTAB_DTYPE_F32));
  for (const int bad : {-1, 8, 255, 256, 1000}) {
    e = construct_fails(EMBTAB_INVALID_ARGUMENT, from(p, 2, 3, bad));
    EXPECT_EQ(std::string(e.message),
              "embtab_table_from_f32: dtype " + std::to_string(bad) + " is not a registered dtype");
  }
  construct_fails(EMBTAB_INVALID_ARGUMENT, from(p, 2, 64, EMBTAB_DTYPE_Q4_K));  // no quantizer
  construct_fails(EMBTAB_INVALID_ARGUMENT, from(p, 2, 3, EMBTAB_DTYPE_Q8_0));   // not whole blocks
  const std::size_t size_max = std::numeric_limits<std::size_t>::max();
  e = construct_fails(EMBTAB_INVALID_ARGUMENT, from(p, size_max, 2, EMBTAB_DTYPE_F32));
  EXPECT_NE(std::string(e.message).find("overflows size_t"), std::string::npos) << e.message;
  // A non-finite row cannot be quantized: the C++ message, naming the row.
  std::vector<float> nan_row(w);
  nan_row[64 + 5] = std::numeric_limits<float>::quiet_NaN();
  e = construct_fails(EMBTAB_INVALID_ARGUMENT, from(nan_row.data(), 4, 64, EMBTAB_DTYPE_INT8_ROWWISE));
  EXPECT_EQ(std::string(e.message),
            refusal([&] { (void)table::from_f32(nan_row, 4, 64, dtype::int8_rowwise); }).substr(0, 255));
  // Shapes no machine can allocate (the tests run with allocator_may_return_null under
  // sanitizers, see table_test.cpp): nothing is read before the allocation fails.
  e = construct_fails(EMBTAB_OUT_OF_MEMORY, from(p, std::size_t{1} << 54, 1, EMBTAB_DTYPE_F32));
  EXPECT_STREQ(e.message, "out of memory");
}

TEST(CApi, WrapReadsInPlaceAndChecksTheSize) {
  const std::size_t rows = 5;
  for (const dtype type : embtab::all_dtypes()) {
    const std::size_t dim = std::max<std::size_t>(32, embtab::info(type).block_values);
    const std::size_t rb = embtab::row_bytes(type, dim), stride = rb + 7;
    std::vector<std::uint8_t> memory((rows - 1) * stride + rb);
    const auto packed = random_stored(type, rows, dim, 11);
    for (std::size_t r = 0; r < rows; ++r) std::memcpy(memory.data() + r * stride, packed.data() + r * rb, rb);
    const int ti = static_cast<int>(type);
    embtab_error e = garbage_error();
    c_table t(embtab_table_wrap(memory.data(), memory.size(), rows, dim, ti, stride, &e));
    ASSERT_NE(t.get(), nullptr) << embtab::to_string(type) << ": " << e.message;
    expect_ok(e);
    EXPECT_EQ(embtab_table_rows(t.get()), rows);
    EXPECT_EQ(embtab_table_dim(t.get()), dim);
    EXPECT_EQ(embtab_table_dtype(t.get()), ti);
    c_table packed_view(embtab_table_wrap(packed.data(), packed.size(), rows, dim, ti, 0, nullptr));
    ASSERT_NE(packed_view.get(), nullptr);

    const table cpp = table::wrap(std::as_bytes(std::span(memory)), rows, dim, type, stride);
    const std::vector<std::int64_t> ids = {4, 0, 2, 2, 3, 1};
    std::vector<float> want(ids.size() * dim), got(want.size(), -1.0f), got_packed(want.size(), -2.0f);
    ASSERT_TRUE(embtab::lookup(cpp, ids, want).ok());
    ASSERT_EQ(embtab_lookup_i64(t.get(), ids.data(), ids.size(), got.data(), got.size(), 0, &e), EMBTAB_OK);
    ASSERT_EQ(embtab_lookup_i64(packed_view.get(), ids.data(), ids.size(), got_packed.data(), got_packed.size(), 0, &e),
              EMBTAB_OK);
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0) << embtab::to_string(type);
    EXPECT_EQ(std::memcmp(got_packed.data(), want.data(), got.size() * 4), 0) << embtab::to_string(type);

    // One byte too few: refused with the C++ message naming the sizes.
    const auto wrap = [&](const void* m, std::size_t bytes, std::size_t r, std::size_t d, int ty, std::size_t s) {
      return [=](embtab_error* err) { return embtab_table_wrap(m, bytes, r, d, ty, s, err); };
    };
    e = construct_fails(EMBTAB_INVALID_ARGUMENT, wrap(memory.data(), memory.size() - 1, rows, dim, ti, stride));
    EXPECT_EQ(std::string(e.message),
              refusal([&] {
                (void)table::wrap(std::as_bytes(std::span(memory)).first(memory.size() - 1), rows, dim, type, stride);
              }).substr(0, 255));
    EXPECT_NE(std::string(e.message).find(std::to_string(memory.size() - 1)), std::string::npos) << e.message;
    construct_fails(EMBTAB_INVALID_ARGUMENT, wrap(memory.data(), memory.size(), rows, dim, ti, rb - 1));  // stride
    construct_fails(EMBTAB_INVALID_ARGUMENT, wrap(memory.data(), memory.size(), 0, dim, ti, stride));
    construct_fails(EMBTAB_INVALID_ARGUMENT, wrap(memory.data(), memory.size(), rows, 0, ti, stride));
  }
  std::uint8_t byte = 0;
  embtab_error e = construct_fails(EMBTAB_INVALID_ARGUMENT,
                                   [](embtab_error* err) { return embtab_table_wrap(nullptr, 64, 1, 4, 0, 0, err); });
  EXPECT_STREQ(e.message, "embtab_table_wrap: memory is NULL (bytes 64)");
  e = construct_fails(EMBTAB_INVALID_ARGUMENT,
                      [&](embtab_error* err) { return embtab_table_wrap(&byte, 1, 1, 1, 42, 0, err); });
  EXPECT_STREQ(e.message, "embtab_table_wrap: dtype 42 is not a registered dtype");
  construct_fails(EMBTAB_INVALID_ARGUMENT,
                  [&](embtab_error* err) { return embtab_table_wrap(&byte, 1, 1, 3, EMBTAB_DTYPE_Q8_0, 0, err); });
  // A size that overflows: (rows - 1) * stride past size_t.
  construct_fails(EMBTAB_INVALID_ARGUMENT, [&](embtab_error* err) {
    return embtab_table_wrap(&byte, 1, std::numeric_limits<std::size_t>::max(), 1, 0, 1 << 20, err);
  });
}

TEST(CApi, OpenMatchesTheCppModelFile) {
  struct open_case {
    const char* file;
    const char* tensor;  // NULL: the token table
  };
  for (const auto& c : {open_case{"gguf_all_types.gguf", nullptr}, open_case{"gguf_all_types.gguf", "t.q6_k"},
                        open_case{"st_gpt2.safetensors", nullptr}, open_case{"st_llama.safetensors", nullptr}}) {
    const std::string path = (models / c.file).string();
    const auto file = embtab::model_file::open(path);
    const embtab::tensor_info* info = c.tensor ? file.find(c.tensor) : file.token_embedding();
    ASSERT_NE(info, nullptr) << path;
    const table cpp = file.load(*info);
    for (const int copy : {0, 1}) {
      embtab_error e = garbage_error();
      c_table t(embtab_table_open(path.c_str(), c.tensor, copy, &e));
      ASSERT_NE(t.get(), nullptr) << path << ": " << e.message;
      expect_ok(e);
      EXPECT_EQ(embtab_table_rows(t.get()), cpp.rows());
      EXPECT_EQ(embtab_table_dim(t.get()), cpp.dim());
      EXPECT_EQ(embtab_table_dtype(t.get()), static_cast<int>(cpp.type()));
      std::vector<std::int32_t> ids(cpp.rows());
      for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>((i * 5) % cpp.rows());
      std::vector<float> want(ids.size() * cpp.dim()), got(want.size());
      ASSERT_TRUE(embtab::lookup(cpp, ids, want).ok());
      ASSERT_EQ(embtab_lookup_i32(t.get(), ids.data(), ids.size(), got.data(), got.size(), 0, nullptr), EMBTAB_OK);
      EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0) << path << " copy " << copy;
      c_table quiet(embtab_table_open(path.c_str(), c.tensor, copy, nullptr));
      EXPECT_NE(quiet.get(), nullptr);
    }
  }
}

TEST(CApi, OpenErrorsNameThePath) {
  const auto open = [](std::string path, const char* tensor) {
    return [=](embtab_error* e) { return embtab_table_open(path.c_str(), tensor, 0, e); };
  };
  const std::string missing = (models / "nosuch.gguf").string();
  embtab_error e = construct_fails(EMBTAB_FILE_ERROR, open(missing, nullptr));
  EXPECT_EQ(std::string(e.message), missing + ": cannot open: No such file or directory");
  // Not a model file (this directory's manifest), a directory, an empty name.
  const std::string text = (models / "MANIFEST.txt").string();
  e = construct_fails(EMBTAB_FILE_ERROR, open(text, nullptr));
  EXPECT_EQ(std::string(e.message).rfind(text + ": ", 0), 0u) << e.message;
  e = construct_fails(EMBTAB_FILE_ERROR, open(models.string(), nullptr));
  EXPECT_EQ(std::string(e.message).rfind(models.string(), 0), 0u) << e.message;
  construct_fails(EMBTAB_FILE_ERROR, open("", nullptr));
  // A file cut short: malformed.
  const fs::path cut = fs::path(testing::TempDir()) / "embtab_c_api_truncated.gguf";
  {
    const std::string whole = (models / "gguf_all_types.gguf").string();
    std::FILE* in = std::fopen(whole.c_str(), "rb");
    ASSERT_NE(in, nullptr);
    std::vector<char> head(100);
    ASSERT_EQ(std::fread(head.data(), 1, head.size(), in), head.size());
    std::fclose(in);
    std::FILE* out = std::fopen(cut.string().c_str(), "wb");
    ASSERT_NE(out, nullptr);
    ASSERT_EQ(std::fwrite(head.data(), 1, head.size(), out), head.size());
    std::fclose(out);
  }
  e = construct_fails(EMBTAB_FILE_ERROR, open(cut.string(), nullptr));
  EXPECT_EQ(std::string(e.message).rfind(cut.string() + ": ", 0), 0u) << e.message;
  fs::remove(cut);

  const std::string gguf = (models / "gguf_all_types.gguf").string();
  e = construct_fails(EMBTAB_FILE_ERROR, open(gguf, "nosuch"));
  EXPECT_EQ(std::string(e.message), gguf + ": no tensor named 'nosuch'");
  e = construct_fails(EMBTAB_FILE_ERROR, open(gguf, "t.3d"));
  EXPECT_EQ(std::string(e.message), gguf + ": tensor 't.3d' cannot be read: 3-D tensor [2, 3, 4], embtab reads 2-D ones");
  const std::string no_token = (models / "gguf_v2_align8.gguf").string();
  e = construct_fails(EMBTAB_FILE_ERROR, open(no_token, nullptr));
  EXPECT_EQ(std::string(e.message).rfind(no_token + ": no token table found", 0), 0u) << e.message;

  e = construct_fails(EMBTAB_INVALID_ARGUMENT,
                      [](embtab_error* err) { return embtab_table_open(nullptr, nullptr, 0, err); });
  EXPECT_STREQ(e.message, "embtab_table_open: path is NULL");
}

TEST(CApi, LongMessagesAreTruncatedTo255Bytes) {
  const std::string path = "/nonexistent-embtab-dir/" + std::string(400, 'a') + ".gguf";
  std::string full;
  try {
    (void)embtab::model_file::open(path);
  } catch (const embtab::file_error& x) {
    full = x.what();
  }
  ASSERT_GT(full.size(), 300u);
  embtab_error e = construct_fails(EMBTAB_FILE_ERROR, [&](embtab_error* err) {
    return embtab_table_open(path.c_str(), nullptr, 1, err);
  });
  EXPECT_EQ(std::strlen(e.message), 255u);
  EXPECT_EQ(e.message[255], '\0');
  EXPECT_EQ(std::string(e.message), full.substr(0, 255));
  EXPECT_EQ(std::string(e.message).rfind(path.substr(0, 200), 0), 0u);
}

// ---------------------------------------------------------------------------------------
// Lookups: bit-identical to the C++ API

// A caller's pool that runs every task on the calling thread, last first, and counts them.
struct counting_pool {
  std::size_t calls = 0, tasks = 0;
  static void run(void* context, std::size_t tasks, void (*task)(void*, std::size_t), void* task_context) {
    auto& p = *static_cast<counting_pool*>(context);
    ++p.calls;
    p.tasks += tasks;
    for (std::size_t i = tasks; i-- > 0;) task(task_context, i);
  }
};

struct option_case {
  const char* name;
  int out_dtype = EMBTAB_DTYPE_F32;
  std::size_t stride_extra = 0;  // out_row_stride = dim + this, when nonzero
  float scale = 1.0f;
  int positions = 0;  // 0 none, 1 position_start, 2 position_ids
  bool shard = false;
  bool hook = false;
  bool streaming = false;
  int threads = 0;
};

template <class Out>
void compare_ex(const option_case& c, dtype type) {
  SCOPED_TRACE(std::string(embtab::to_string(type)) + " " + c.name);
  // 300 KiB of fp32 output: split in tasks.
  const std::size_t rows = 40, dim = std::max<std::size_t>(64, embtab::info(type).block_values), n = 1200 * 64 / dim;
  const auto stored = random_stored(type, rows, dim, 5 + static_cast<std::uint32_t>(type));
  const table cpp = table::wrap(std::as_bytes(std::span(stored)), rows, dim, type);
  c_table t(embtab_table_wrap(stored.data(), stored.size(), rows, dim, static_cast<int>(type), 0, nullptr));
  ASSERT_NE(t.get(), nullptr);
  // Position rows: another table of the same dim (f16).
  const auto pw = embtab::ref::random_weights(rows, dim, 9);
  const table cpp_pos = table::from_f32(pw, rows, dim, dtype::f16);
  c_table pos(embtab_table_from_f32(pw.data(), rows, dim, EMBTAB_DTYPE_F16, nullptr));
  ASSERT_NE(pos.get(), nullptr);

  const std::int64_t shard_begin = 100, vocab = 300;
  std::mt19937_64 gen(17);
  std::vector<std::int64_t> ids64(n), position_ids(n);
  for (auto& id : ids64)
    id = static_cast<std::int64_t>(gen() % (c.shard ? static_cast<std::uint64_t>(vocab) : rows));
  for (auto& p : position_ids) p = static_cast<std::int64_t>(gen() % rows);
  std::vector<std::int32_t> ids32(ids64.begin(), ids64.end());
  const std::size_t stride = c.stride_extra ? dim + c.stride_extra : dim;
  const std::size_t out_len = (n - 1) * stride + dim;

  embtab::lookup_options o{.threads = c.threads, .out_row_stride = c.stride_extra ? stride : 0, .scale = c.scale,
                           .streaming_stores = c.streaming};
  embtab_lookup_options co = embtab_lookup_options_default();
  co.threads = c.threads;
  co.out_dtype = c.out_dtype;
  co.out_row_stride = o.out_row_stride;
  co.scale = c.scale;
  co.streaming_stores = c.streaming ? 1 : 0;
  if (c.positions != 0) {
    o.positions = &cpp_pos;
    co.positions = pos.get();
    if (c.positions == 1) {
      o.position_start = 0;
      co.position_start = 0;
    } else {
      o.position_ids = position_ids;
      co.position_ids = position_ids.data();
      co.position_ids_len = position_ids.size();
    }
  }
  if (c.shard) {
    o.shard = {.begin = shard_begin, .end = shard_begin + static_cast<std::int64_t>(rows), .vocab = vocab};
    co.shard_begin = o.shard.begin;
    co.shard_end = o.shard.end;
    co.shard_vocab = o.shard.vocab;
  }
  counting_pool cpp_pool, c_pool;
  if (c.hook) {
    o.parallel = {.run = &counting_pool::run, .context = &cpp_pool};
    co.parallel_run = &counting_pool::run;
    co.parallel_context = &c_pool;
  }
  if (c.positions == 1) ids64.resize(rows), ids32.resize(rows);  // position_start + i < rows
  const std::size_t m = ids64.size(), len = c.positions == 1 ? (m - 1) * stride + dim : out_len;
  for (const int bits : {32, 64}) {
    std::vector<Out> want(len), got(len);
    std::memset(want.data(), 0x33, len * sizeof(Out));
    std::memset(got.data(), 0x33, len * sizeof(Out));
    const embtab::status s = bits == 32 ? embtab::lookup(cpp, std::span<const std::int32_t>(ids32), std::span(want), o)
                                        : embtab::lookup(cpp, std::span<const std::int64_t>(ids64), std::span(want), o);
    ASSERT_TRUE(s.ok()) << s.message();
    const void* ids = bits == 32 ? static_cast<const void*>(ids32.data()) : static_cast<const void*>(ids64.data());
    embtab_error e = garbage_error();
    ASSERT_EQ(embtab_lookup_ex(t.get(), ids, bits, m, got.data(), len, &co, &e), EMBTAB_OK) << e.message;
    expect_ok(e);
    EXPECT_EQ(std::memcmp(got.data(), want.data(), len * sizeof(Out)), 0) << bits;
    std::memset(got.data(), 0x33, len * sizeof(Out));
    ASSERT_EQ(embtab_lookup_ex(t.get(), ids, bits, m, got.data(), len, &co, nullptr), EMBTAB_OK);
    EXPECT_EQ(std::memcmp(got.data(), want.data(), len * sizeof(Out)), 0) << bits;
  }
  if (c.hook) {
    EXPECT_EQ(c_pool.calls, cpp_pool.calls * 2);  // with and without error
    EXPECT_EQ(c_pool.tasks, cpp_pool.tasks * 2);
    EXPECT_GT(c_pool.calls, 0u);
  }
}

TEST(CApi, LookupExMatchesTheCppApiForEveryDtypeAndOption) {
  const option_case cases[] = {
      {.name = "plain"},
      {.name = "serial", .threads = 1},
      {.name = "f16", .out_dtype = EMBTAB_DTYPE_F16},
      {.name = "bf16", .out_dtype = EMBTAB_DTYPE_BF16},
      {.name = "stride", .stride_extra = 5},
      {.name = "scale", .scale = 0.125f},
      {.name = "positions by start", .positions = 1},
      {.name = "positions by ids", .scale = 3.0f, .positions = 2},
      {.name = "shard", .shard = true},
      {.name = "hook", .hook = true},
      {.name = "streaming", .streaming = true},
      {.name = "everything f16", .out_dtype = EMBTAB_DTYPE_F16, .stride_extra = 3, .scale = 2.5f, .positions = 2,
       .shard = true, .hook = true, .streaming = true},
      {.name = "everything bf16", .out_dtype = EMBTAB_DTYPE_BF16, .stride_extra = 1, .scale = -1.0f, .positions = 2,
       .hook = true},
  };
  for (const auto isa : embtab::supported_isas()) {
    ASSERT_TRUE(embtab::set_isa(isa));
    SCOPED_TRACE(std::string(isa));
    for (const dtype type : embtab::all_dtypes())
      for (const auto& c : cases) {
        if (c.out_dtype == EMBTAB_DTYPE_F32) compare_ex<float>(c, type);
        if (c.out_dtype == EMBTAB_DTYPE_F16) compare_ex<embtab::f16>(c, type);
        if (c.out_dtype == EMBTAB_DTYPE_BF16) compare_ex<embtab::bf16>(c, type);
      }
  }
  embtab::set_isa(embtab::supported_isas().front());
}

TEST(CApi, LookupI32AndI64MatchTheCppApiForEveryDtype) {
  const std::size_t rows = 33, dim = 256;
  for (const dtype type : embtab::all_dtypes()) {
    const auto stored = random_stored(type, rows, dim, 23);
    const table cpp = table::wrap(std::as_bytes(std::span(stored)), rows, dim, type);
    c_table t(embtab_table_wrap(stored.data(), stored.size(), rows, dim, static_cast<int>(type), 0, nullptr));
    ASSERT_NE(t.get(), nullptr);
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{2000}}) {
      const auto ids64 = embtab::ref::random_ids<std::int64_t>(n, rows, 4);
      const std::vector<std::int32_t> ids32(ids64.begin(), ids64.end());
      for (const int threads : {0, 1, 2}) {
        std::vector<float> want(n * dim), got32(n * dim), got64(n * dim);
        ASSERT_TRUE(embtab::lookup(cpp, ids64, want, {.threads = threads}).ok());
        ASSERT_EQ(embtab_lookup_i32(t.get(), ids32.data(), n, got32.data(), got32.size(), threads, nullptr), EMBTAB_OK);
        ASSERT_EQ(embtab_lookup_i64(t.get(), ids64.data(), n, got64.data(), got64.size(), threads, nullptr), EMBTAB_OK);
        if (n == 0) continue;  // (memcmp of empty vectors' null data() is undefined)
        EXPECT_EQ(std::memcmp(got32.data(), want.data(), want.size() * 4), 0) << embtab::to_string(type) << " " << n;
        EXPECT_EQ(std::memcmp(got64.data(), want.data(), want.size() * 4), 0) << embtab::to_string(type) << " " << n;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Lookup errors: each with a NULL and a non-NULL error, out never touched

class CApiLookupErrors : public ::testing::Test {
 protected:
  static constexpr std::size_t rows = 6, dim = 3;
  void SetUp() override {
    const auto w = embtab::ref::random_weights(rows, dim, 1);
    t_.reset(embtab_table_from_f32(w.data(), rows, dim, EMBTAB_DTYPE_F32, nullptr));
    ASSERT_NE(t_.get(), nullptr);
  }

  // Runs call(error) with NULL and with a garbage-filled error: the code each time, out
  // unchanged, and the error filled as expected; returns the filled error.
  template <class Call>
  embtab_error fails(embtab_errc code, std::size_t position, Call call) {
    std::vector<float> before(out_);
    EXPECT_EQ(call(nullptr), code);
    EXPECT_EQ(out_, before);
    embtab_error e = garbage_error();
    EXPECT_EQ(call(&e), code);
    EXPECT_EQ(std::memcmp(out_.data(), before.data(), out_.size() * 4), 0);
    expect_failed(e, code, position);
    return e;
  }

  c_table t_;
  std::vector<float> out_ = std::vector<float>(64, 42.0f);
  const std::int32_t ids32_[3] = {1, 2, 3};
  const std::int64_t ids64_[3] = {1, 2, 3};
};

TEST_F(CApiLookupErrors, NullPointers) {
  float* out = out_.data();
  for (const int bits : {32, 64, 0}) {  // 0: lookup_ex
    const auto call = [&](const embtab_table* t, const void* ids, std::size_t n, float* o, std::size_t len) {
      return [=](embtab_error* e) {
        if (bits == 32) return embtab_lookup_i32(t, static_cast<const std::int32_t*>(ids), n, o, len, 0, e);
        if (bits == 64) return embtab_lookup_i64(t, static_cast<const std::int64_t*>(ids), n, o, len, 0, e);
        return embtab_lookup_ex(t, ids, 64, n, o, len, nullptr, e);
      };
    };
    const void* ids = bits == 32 ? static_cast<const void*>(ids32_) : static_cast<const void*>(ids64_);
    const std::string fn = bits == 32 ? "embtab_lookup_i32" : bits == 64 ? "embtab_lookup_i64" : "embtab_lookup_ex";
    embtab_error e = fails(EMBTAB_INVALID_ARGUMENT, 0, call(nullptr, ids, 3, out, 9));
    EXPECT_EQ(std::string(e.message), fn + ": table is NULL");
    e = fails(EMBTAB_INVALID_ARGUMENT, 0, call(t_.get(), nullptr, 3, out, 9));
    EXPECT_EQ(std::string(e.message), fn + ": ids is NULL with n 3");
    e = fails(EMBTAB_INVALID_ARGUMENT, 0, call(t_.get(), ids, 3, nullptr, 9));
    EXPECT_EQ(std::string(e.message), fn + ": out is NULL with out_len 9");
    // out NULL but out_len 0 with ids: the size is wrong, not the pointer.
    fails(EMBTAB_SIZE_MISMATCH, 0, call(t_.get(), ids, 3, nullptr, 0));
    fails(EMBTAB_INVALID_ARGUMENT, 0, call(nullptr, nullptr, 0, nullptr, 0));
    // n == 0 with NULL pointers: ok, and a filled error says so.
    EXPECT_EQ(call(t_.get(), nullptr, 0, nullptr, 0)(nullptr), EMBTAB_OK);
    embtab_error ok = garbage_error();
    EXPECT_EQ(call(t_.get(), nullptr, 0, nullptr, 0)(&ok), EMBTAB_OK);
    expect_ok(ok);
  }
}

TEST_F(CApiLookupErrors, TheCppStatusComesThrough) {
  float* out = out_.data();
  // Each: the C code and position, and the C++ status's own message.
  const auto check = [&](embtab_errc code, std::size_t position, const embtab::status& cpp, auto call) {
    const embtab_error e = fails(code, position, call);
    EXPECT_EQ(static_cast<int>(cpp.code()), static_cast<int>(code));
    EXPECT_EQ(std::string(e.message), cpp.message());
  };
  std::vector<float> scratch(64);
  const auto w = embtab::ref::random_weights(rows, dim, 1);
  const table cpp = table::from_f32(w, rows, dim);
  const std::int64_t bad[] = {0, 5, 6, -1};
  const std::int32_t bad32[] = {0, -7};
  check(EMBTAB_ID_OUT_OF_RANGE, 2, embtab::lookup(cpp, std::span(bad), std::span(scratch).first(12)),
        [&](embtab_error* e) { return embtab_lookup_i64(t_.get(), bad, 4, out, 12, 0, e); });
  check(EMBTAB_ID_OUT_OF_RANGE, 1, embtab::lookup(cpp, std::span(bad32), std::span(scratch).first(6)),
        [&](embtab_error* e) { return embtab_lookup_i32(t_.get(), bad32, 2, out, 6, 0, e); });
  check(EMBTAB_SIZE_MISMATCH, 0, embtab::lookup(cpp, std::span(ids32_), std::span(scratch).first(8)),
        [&](embtab_error* e) { return embtab_lookup_i32(t_.get(), ids32_, 3, out, 8, 0, e); });
  check(EMBTAB_INVALID_ARGUMENT, 0, embtab::lookup(cpp, std::span(ids64_), std::span(scratch).first(9), {.threads = -1}),
        [&](embtab_error* e) { return embtab_lookup_i64(t_.get(), ids64_, 3, out, 9, -1, e); });

  // Options: each of lookup.hpp's checks through embtab_lookup_ex.
  const auto ex = [&](embtab_lookup_options o, std::size_t len, const std::int64_t* ids = nullptr, std::size_t n = 3) {
    return [=, this](embtab_error* e) { return embtab_lookup_ex(t_.get(), ids ? ids : ids64_, 64, n, out, len, &o, e); };
  };
  embtab_lookup_options o = embtab_lookup_options_default();
  o.out_row_stride = 2;
  check(EMBTAB_INVALID_ARGUMENT, 0, embtab::lookup(cpp, std::span(ids64_), std::span(scratch).first(9), {.out_row_stride = 2}),
        ex(o, 9));
  o = embtab_lookup_options_default();
  o.scale = std::numeric_limits<float>::infinity();
  check(EMBTAB_INVALID_ARGUMENT, 0,
        embtab::lookup(cpp, std::span(ids64_), std::span(scratch).first(9), {.scale = o.scale}), ex(o, 9));
  o = embtab_lookup_options_default();
  o.shard_begin = 2;
  o.shard_end = 9;
  o.shard_vocab = 10;
  check(EMBTAB_INVALID_ARGUMENT, 0,
        embtab::lookup(cpp, std::span(ids64_), std::span(scratch).first(9), {.shard = {2, 9, 10}}), ex(o, 9));
  // Positions: out of range at index 2 (start 4: positions 4, 5, 6), by ids, and of the wrong count.
  o = embtab_lookup_options_default();
  o.positions = t_.get();
  o.position_start = 4;
  check(EMBTAB_POSITION_OUT_OF_RANGE, 2,
        embtab::lookup(cpp, std::span(ids64_), std::span(scratch).first(9), {.positions = &cpp, .position_start = 4}),
        ex(o, 9));
  const std::int64_t pids[] = {0, 9, 1};
  o.position_ids = pids;
  o.position_ids_len = 3;
  check(EMBTAB_POSITION_OUT_OF_RANGE, 1,
        embtab::lookup(cpp, std::span(ids64_), std::span(scratch).first(9),
                       {.positions = &cpp, .position_ids = std::span(pids)}),
        ex(o, 9));
  o.position_ids_len = 2;
  check(EMBTAB_INVALID_ARGUMENT, 0,
        embtab::lookup(cpp, std::span(ids64_), std::span(scratch).first(9),
                       {.positions = &cpp, .position_ids = std::span(pids).first(2)}),
        ex(o, 9));
  // Positions of another dim.
  const float w4[8] = {};
  c_table other(embtab_table_from_f32(w4, 2, 4, EMBTAB_DTYPE_F32, nullptr));
  const table cpp_other = table::from_f32(w4, 2, 4);
  o = embtab_lookup_options_default();
  o.positions = other.get();
  check(EMBTAB_INVALID_ARGUMENT, 0,
        embtab::lookup(cpp, std::span(ids64_), std::span(scratch).first(9), {.positions = &cpp_other}), ex(o, 9));
}

TEST_F(CApiLookupErrors, OptionsOnlyCChecks) {
  float* out = out_.data();
  const auto ex = [&](const embtab_lookup_options* o, int bits = 64) {
    return [=, this](embtab_error* e) { return embtab_lookup_ex(t_.get(), ids64_, bits, 3, out, 9, o, e); };
  };
  embtab_error e = fails(EMBTAB_INVALID_ARGUMENT, 0, ex(nullptr, 16));
  EXPECT_STREQ(e.message, "embtab_lookup_ex: id_bits is 16, expected 32 or 64");
  fails(EMBTAB_INVALID_ARGUMENT, 0, ex(nullptr, 0));

  embtab_lookup_options o = embtab_lookup_options_default();
  for (const int bad : {-1, int{EMBTAB_DTYPE_INT8_ROWWISE}, int{EMBTAB_DTYPE_Q8_0}, 100}) {
    o.out_dtype = bad;
    e = fails(EMBTAB_INVALID_ARGUMENT, 0, ex(&o));
    EXPECT_EQ(std::string(e.message), "embtab_lookup_options::out_dtype is " + std::to_string(bad) +
                                          ", expected EMBTAB_DTYPE_F32, EMBTAB_DTYPE_F16 or EMBTAB_DTYPE_BF16");
  }
  o = embtab_lookup_options_default();
  o.position_ids_len = 3;
  o.positions = t_.get();
  e = fails(EMBTAB_INVALID_ARGUMENT, 0, ex(&o));
  EXPECT_STREQ(e.message, "embtab_lookup_options::position_ids is NULL with position_ids_len 3");

  // struct_size: below the first version's size is refused (there is no older version).
  for (const std::size_t size : {std::size_t{0}, sizeof(std::size_t), sizeof(embtab_lookup_options) - 1}) {
    o = embtab_lookup_options_default();
    o.struct_size = size;
    e = fails(EMBTAB_INVALID_ARGUMENT, 0, ex(&o));
    EXPECT_EQ(std::string(e.message), "embtab_lookup_options::struct_size is " + std::to_string(size) +
                                          ", expected at least " + std::to_string(sizeof(embtab_lookup_options)) +
                                          " (sizeof(embtab_lookup_options))");
  }
  // A newer caller's larger struct: fine while the members this library does not know are zero.
  struct newer {
    embtab_lookup_options v1;
    std::uint64_t added[4];
  } n{};
  n.v1 = embtab_lookup_options_default();
  n.v1.struct_size = sizeof n;
  n.v1.scale = 2.0f;
  std::vector<float> want(9), got(9);
  const auto w = embtab::ref::random_weights(rows, dim, 1);
  ASSERT_TRUE(embtab::lookup(table::from_f32(w, rows, dim), std::span(ids64_), std::span(want), {.scale = 2.0f}).ok());
  EXPECT_EQ(embtab_lookup_ex(t_.get(), ids64_, 64, 3, got.data(), 9, &n.v1, nullptr), EMBTAB_OK);
  EXPECT_EQ(std::memcmp(got.data(), want.data(), 9 * 4), 0);
  n.added[3] = 1;
  e = fails(EMBTAB_INVALID_ARGUMENT, 0, ex(&n.v1));
  EXPECT_EQ(std::string(e.message), "embtab_lookup_options::struct_size is " + std::to_string(sizeof n) +
                                        " and the bytes past the " + std::to_string(sizeof(embtab_lookup_options)) +
                                        " this library knows are not all zero (options of a newer embtab)");
}

TEST_F(CApiLookupErrors, SuccessClearsAFilledError) {
  embtab_error e = garbage_error();
  std::vector<float> out(9);
  EXPECT_EQ(embtab_lookup_i32(t_.get(), ids32_, 3, out.data(), out.size(), 0, &e), EMBTAB_OK);
  expect_ok(e);
  e = garbage_error();
  EXPECT_EQ(embtab_lookup_ex(t_.get(), ids32_, 32, 3, out.data(), out.size(), nullptr, &e), EMBTAB_OK);
  expect_ok(e);
}

}  // namespace
