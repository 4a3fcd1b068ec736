// model_file: GGUF and safetensors fixtures written by the Python packages
// (fixtures/gen_model_fixtures.py) must look up exactly what those packages read, as views of
// the mapping and as copies, on every ISA; malformed files must be refused whole, each with
// a message that names the path, the tensor and the numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "embtab/embtab.hpp"

namespace {

namespace fs = std::filesystem;
using embtab::dtype;
using embtab::file_error;
using embtab::model_file;

const fs::path fixtures = fs::path(EMBTAB_FIXTURE_DIR) / "model";

struct expected_tensor {
  std::string name;
  std::uint64_t rows, dim;
  std::vector<float> values;
};

// <fixture>.expected: per tensor u32 name length, name, u64 rows, u64 dim, rows*dim fp32.
std::vector<expected_tensor> read_expected(const fs::path& model) {
  std::ifstream f(model.string() + ".expected", std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<expected_tensor> out;
  std::size_t p = 0;
  const auto take = [&](void* dst, std::size_t n) {
    if (p + n > b.size()) throw std::runtime_error("short .expected file");
    std::memcpy(dst, b.data() + p, n);
    p += n;
  };
  while (p < b.size()) {
    expected_tensor e;
    std::uint32_t len;
    take(&len, 4);
    e.name.resize(len);
    take(e.name.data(), len);
    take(&e.rows, 8);
    take(&e.dim, 8);
    e.values.resize(e.rows * e.dim);
    take(e.values.data(), e.values.size() * 4);
    out.push_back(std::move(e));
  }
  return out;
}

// Every row of t, in reverse order, on every ISA this CPU runs, bit for bit.
void expect_rows(const embtab::table& t, const expected_tensor& e, const char* kind) {
  ASSERT_EQ(t.rows(), e.rows);
  ASSERT_EQ(t.dim(), e.dim);
  std::vector<std::int64_t> ids;
  for (std::uint64_t r = e.rows; r-- > 0;) ids.push_back(static_cast<std::int64_t>(r));
  for (const auto isa : embtab::supported_isas()) {
    ASSERT_TRUE(embtab::set_isa(isa));
    std::vector<float> out(ids.size() * e.dim);
    ASSERT_TRUE(embtab::lookup(t, ids, out).ok());
    for (std::size_t i = 0; i < ids.size(); ++i)
      for (std::size_t j = 0; j < e.dim; ++j) {
        const float want = e.values[static_cast<std::size_t>(ids[i]) * e.dim + j];
        ASSERT_EQ(std::bit_cast<std::uint32_t>(out[i * e.dim + j]), std::bit_cast<std::uint32_t>(want))
            << e.name << " " << kind << " on " << isa << ": row " << ids[i] << " value " << j;
      }
  }
  embtab::set_isa(embtab::supported_isas().front());
}

void expect_fixture_lookups(const fs::path& path) {
  const model_file f = model_file::open(path);
  const auto expected = read_expected(path);
  ASSERT_EQ(expected.size(), f.tensors().size()) << path;
  for (const auto& e : expected) {
    const embtab::tensor_info* t = f.find(e.name);
    ASSERT_NE(t, nullptr) << e.name;
    EXPECT_EQ(t->shape, (std::vector<std::uint64_t>{e.rows, e.dim}));
    EXPECT_EQ(t->bytes, e.rows * embtab::row_bytes(t->type, e.dim));
    const embtab::table view = f.load(*t);
    EXPECT_FALSE(view.owns_memory());
    EXPECT_EQ(view.data(), nullptr == f.load(*t).data() ? nullptr : f.load(*t).data());  // the mapping itself
    expect_rows(view, e, "view");
    const embtab::table copy = f.load(*t, true);
    EXPECT_TRUE(copy.owns_memory());
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(copy.data()) % 64, 0u);
    expect_rows(copy, e, "copy");
  }
}

std::vector<std::string> skipped(const model_file& f) { return {f.skipped().begin(), f.skipped().end()}; }

TEST(ModelFileFixtures, GgufAllTypes) {
  const model_file f = model_file::open(fixtures / "gguf_all_types.gguf");
  EXPECT_EQ(f.format(), "GGUF v3");
  std::vector<std::string> names;
  for (const auto& t : f.tensors()) names.push_back(t.name + ":" + embtab::to_string(t.type));
  EXPECT_EQ(names, (std::vector<std::string>{"token_embd.weight:q8_0", "t.f32:f32", "t.f16:f16", "t.bf16:bf16",
                                              "t.q4_0:q4_0", "t.q4_k:q4_k", "t.q6_k:q6_k"}));
  ASSERT_NE(f.token_embedding(), nullptr);
  EXPECT_EQ(f.token_embedding()->name, "token_embd.weight");
  EXPECT_EQ(f.token_embedding()->shape, (std::vector<std::uint64_t>{7, 64}));  // rows first
  EXPECT_EQ(skipped(f), (std::vector<std::string>{"t.3d: 3-D tensor [2, 3, 4], embtab reads 2-D ones",
                                                  "t.norm: 1-D tensor [8], embtab reads 2-D ones",
                                                  "t.q5_k: GGUF type Q5_K (13) has no embtab dtype"}));
  EXPECT_EQ(f.skip_reason("t.3d"), "3-D tensor [2, 3, 4], embtab reads 2-D ones");
  EXPECT_EQ(f.skip_reason("t.q5_k"), "GGUF type Q5_K (13) has no embtab dtype");
  EXPECT_EQ(f.skip_reason("t"), "");        // a prefix of skipped names, not a name
  EXPECT_EQ(f.skip_reason("t.f32"), "");    // read, not skipped
  EXPECT_EQ(f.skip_reason("nosuch"), "");
  for (const auto& t : f.tensors()) EXPECT_EQ(t.offset % 32, 0u) << t.name;  // general.alignment default
  expect_fixture_lookups(fixtures / "gguf_all_types.gguf");
}

TEST(ModelFileFixtures, GgufV2Alignment8) {
  const model_file f = model_file::open(fixtures / "gguf_v2_align8.gguf");
  EXPECT_EQ(f.format(), "GGUF v2");
  EXPECT_EQ(f.token_embedding(), nullptr);  // tok_embeddings.weight is not GGUF's name
  ASSERT_NE(f.find("tok_embeddings.weight"), nullptr);
  bool unaligned = false;
  for (const auto& t : f.tensors()) {
    EXPECT_EQ(t.offset % 8, 0u);
    unaligned = unaligned || t.offset % 64 != 0;
  }
  EXPECT_TRUE(unaligned) << "the fixture should place a tensor off a 64-byte boundary";
  expect_fixture_lookups(fixtures / "gguf_v2_align8.gguf");
}

TEST(ModelFileFixtures, SafetensorsGpt2) {
  const model_file f = model_file::open(fixtures / "st_gpt2.safetensors");
  EXPECT_EQ(f.format(), "safetensors");
  ASSERT_NE(f.token_embedding(), nullptr);
  EXPECT_EQ(f.token_embedding()->name, "wte.weight");
  EXPECT_EQ(f.token_embedding()->shape, (std::vector<std::uint64_t>{10, 12}));
  auto s = skipped(f);
  std::sort(s.begin(), s.end());
  EXPECT_EQ(s, (std::vector<std::string>{"h.0.attn.bias: 3-D tensor [1, 2, 3], embtab reads 2-D ones",
                                         "h.0.int8: safetensors dtype 'I8' has no embtab dtype",
                                         "h.0.ln_1.weight: 1-D tensor [12], embtab reads 2-D ones"}));
  expect_fixture_lookups(fixtures / "st_gpt2.safetensors");
}

TEST(ModelFileFixtures, SafetensorsLlamaBf16) {
  const model_file f = model_file::open(fixtures / "st_llama.safetensors");
  ASSERT_NE(f.token_embedding(), nullptr);
  EXPECT_EQ(f.token_embedding()->name, "model.embed_tokens.weight");
  EXPECT_EQ(f.token_embedding()->type, dtype::bf16);
  EXPECT_EQ(f.find("lm_head.weight")->type, dtype::f16);
  expect_fixture_lookups(fixtures / "st_llama.safetensors");
}

TEST(ModelFileFixtures, SafetensorsAmbiguousTokenTable) {
  const model_file f = model_file::open(fixtures / "st_ambiguous.safetensors");
  EXPECT_EQ(f.token_embedding(), nullptr);  // two *embed_tokens.weight
  EXPECT_EQ(f.tensors().size(), 3u);
  expect_fixture_lookups(fixtures / "st_ambiguous.safetensors");
}

TEST(ModelFile, ViewOutlivesTheModelFile) {
  embtab::table t;
  {
    const model_file f = model_file::open(fixtures / "gguf_all_types.gguf");
    t = f.load(*f.find("t.f32"));
  }
  const auto e = read_expected(fixtures / "gguf_all_types.gguf");
  for (const auto& x : e)
    if (x.name == "t.f32") expect_rows(t, x, "view after close");
}

TEST(ModelFile, MovedFromIsEmpty) {
  model_file f = model_file::open(fixtures / "st_gpt2.safetensors");
  model_file g = std::move(f);
  EXPECT_EQ(g.tensors().size(), 2u);
  EXPECT_TRUE(f.tensors().empty());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(f.token_embedding(), nullptr);
}

TEST(ModelFile, LoadRechecksAForgedTensorInfo) {
  const model_file f = model_file::open(fixtures / "st_gpt2.safetensors");
  embtab::tensor_info t = *f.find("wte.weight");
  t.offset = f.file_bytes() - 4;
  try {
    (void)f.load(t);
    FAIL() << "load accepted a tensor past the end";
  } catch (const file_error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'wte.weight': data at offset"), std::string::npos) << e.what();
  }
  t = *f.find("wte.weight");
  t.shape = {10, 12, 1};
  EXPECT_THROW((void)f.load(t), file_error);
  t = *f.find("wte.weight");
  t.shape = {20, 12};
  EXPECT_THROW((void)f.load(t), file_error);
}

// ---- Malformed files -------------------------------------------------------------------------

// Little-endian bytes of a file under construction.
struct bytes_builder {
  std::string b;
  bytes_builder& u32(std::uint32_t v) { return raw(&v, 4); }
  bytes_builder& u64(std::uint64_t v) { return raw(&v, 8); }
  bytes_builder& str(std::string_view s) {
    u64(s.size());
    b += s;
    return *this;
  }
  bytes_builder& raw(const void* p, std::size_t n) {
    b.append(static_cast<const char*>(p), n);
    return *this;
  }
  bytes_builder& pad_to(std::size_t alignment) {
    while (b.size() % alignment != 0) b += '\0';
    return *this;
  }
};

struct gguf_tensor {
  std::string name = "tok";
  std::vector<std::uint64_t> ne{4, 2};  // innermost first
  std::uint32_t type = 0;               // F32
  std::uint64_t offset = 0;
};

// A GGUF v3 file: general.alignment (if nonzero), `extra_kv` raw key-value bytes (counted
// as extra_kv_count entries), the tensors, then `data_bytes` bytes of data.
std::string gguf(const std::vector<gguf_tensor>& tensors, std::size_t data_bytes = 32, std::uint32_t alignment = 32,
                 const std::string& extra_kv = "", std::uint64_t extra_kv_count = 0) {
  bytes_builder g;
  g.raw("GGUF", 4).u32(3).u64(tensors.size()).u64((alignment != 0 ? 1 : 0) + extra_kv_count);
  if (alignment != 0) g.str("general.alignment").u32(4).u32(alignment);
  g.b += extra_kv;
  for (const auto& t : tensors) {
    g.str(t.name).u32(static_cast<std::uint32_t>(t.ne.size()));
    for (const auto d : t.ne) g.u64(d);
    g.u32(t.type).u64(t.offset);
  }
  g.pad_to(alignment != 0 ? alignment : 32);
  g.b.append(data_bytes, '\x01');
  return g.b;
}

std::string safetensors(const std::string& json, std::size_t data_bytes, std::uint64_t header_len = ~0ull) {
  bytes_builder s;
  s.u64(header_len == ~0ull ? json.size() : header_len);
  s.b += json;
  s.b.append(data_bytes, '\x02');
  return s.b;
}

class ModelFileMalformed : public ::testing::Test {
 protected:
  // Writes `bytes` to a file and opens it: "" if it opened, else file_error's message, which
  // must start with the path.
  std::string open_error(const std::string& bytes) {
    const fs::path path = fs::path(::testing::TempDir()) /
                          ("embtab_model_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
                           "_" + std::to_string(n_++));
    {
      std::ofstream f(path, std::ios::binary);
      f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    std::string what;
    try {
      (void)model_file::open(path);
    } catch (const file_error& e) {
      what = e.what();
      EXPECT_EQ(what.rfind(path.string() + ": ", 0), 0u) << what;
    }
    fs::remove(path);
    return what;
  }
  void expect_error(const std::string& bytes, const std::string& part) {
    const std::string what = open_error(bytes);
    EXPECT_NE(what.find(part), std::string::npos) << (what.empty() ? "opened" : what) << "\n  expected: " << part;
  }
  int n_ = 0;
};

TEST_F(ModelFileMalformed, TheBuildersMakeValidFiles) {
  EXPECT_EQ(open_error(gguf({{}})), "");
  EXPECT_EQ(open_error(safetensors(R"({"tok":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]}})", 32)), "");
}

TEST_F(ModelFileMalformed, GgufTruncatedHeader) {
  const std::string whole = gguf({{}});
  expect_error(whole.substr(0, 6), "truncated header: version at byte 4 needs 4 bytes, the file has 2 left (6 in all)");
  expect_error(whole.substr(0, 70), "truncated header: tensor count 1 cannot fit in the 13 bytes left (24 or more each)");
  expect_error(whole.substr(0, 90), "truncated header: tensor type at byte 88 needs 4 bytes, the file has 2 left (90 in all)");
  // The header whole, the data section cut: the tensor is past the end.
  expect_error(whole.substr(0, whole.size() - 32), "tensor 'tok': data [");
}

TEST_F(ModelFileMalformed, GgufTensorPastTheEnd) {
  expect_error(gguf({{.ne = {4, 1000}}}), "tensor 'tok': data [128, +16000 bytes) ends past the end of the file (160 bytes)");
  expect_error(gguf({{.offset = 64}}), "tensor 'tok': offset 64 lies past the end of the data section (32 bytes from byte 128)");
  expect_error(gguf({{.offset = 0xFFFFFFFFFFFFFFE0ull}}), "lies past the end of the data section");
  // Unknown types too: their offset is still checked.
  expect_error(gguf({{.type = 13, .offset = 1024}}), "tensor 'tok': offset 1024 lies past the end");
}

TEST_F(ModelFileMalformed, GgufDimsWhoseProductOverflows) {
  expect_error(gguf({{.ne = {1ull << 32, 1ull << 32, 2}}}),
               "tensor 'tok': dims [4294967296, 4294967296, 2] (innermost first): their product overflows 63 bits");
  expect_error(gguf({{.ne = {1ull << 63}}}), "their product overflows 63 bits");
  // The element count fits, the byte size does not: 2^62 f32 values.
  expect_error(gguf({{.ne = {1ull << 31, 1ull << 31}}}), "tensor 'tok': shape [2147483648, 2147483648] of F32: its byte size overflows 64 bits");
  expect_error(gguf({{.ne = {33, 2}, .type = 8}}), "tensor 'tok': dim 33 is not a multiple of Q8_0's 32 values per block");
  expect_error(gguf({{.ne = {4, 2, 1, 1, 1}}}), "tensor 'tok': 5 dims, GGUF allows at most 4");
}

TEST_F(ModelFileMalformed, GgufOffsetNotAligned) {
  expect_error(gguf({{.offset = 4}}, 64), "tensor 'tok': offset 4 is not a multiple of general.alignment 32");
  expect_error(gguf({{.offset = 8}}, 64, 16), "offset 8 is not a multiple of general.alignment 16");
  expect_error(gguf({{}}, 32, 24), "general.alignment 24 is not a power of two");
  bytes_builder kv;
  kv.str("general.alignment").u32(10).u64(64);  // a uint64, not the spec's uint32
  expect_error(gguf({{}}, 32, 0, kv.b, 1), "general.alignment has value type 10, expected uint32 (4)");
}

TEST_F(ModelFileMalformed, GgufAbsurdStringAndArrayLengths) {
  bytes_builder key;
  key.u64(1ull << 62);
  expect_error(gguf({{}}, 32, 32, key.b, 1), "metadata key at byte 57 claims 4611686018427387904 bytes, past the end of the file");
  bytes_builder s;
  s.str("general.name").u32(8).u64(~0ull);
  expect_error(gguf({{}}, 32, 32, s.b, 1), "metadata string at byte 81 claims 18446744073709551615 bytes");
  bytes_builder fixed;
  fixed.str("a.u64s").u32(9).u32(10).u64(1ull << 61);
  expect_error(gguf({{}}, 32, 32, fixed.b, 1),
               "metadata 'a.u64s': array at byte 75 of 2305843009213693952 elements (at least 8 bytes each) runs past the end");
  bytes_builder strings;
  strings.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(1ull << 40);
  expect_error(gguf({{}}, 32, 32, strings.b, 1), "metadata 'tokenizer.ggml.tokens': array at byte 90 of 1099511627776 elements");
  // A string inside an array whose length is absurd.
  bytes_builder inner;
  inner.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(2).str("a").u64(1ull << 50);
  expect_error(gguf({{}}, 32, 32, inner.b, 1), "metadata string at byte 111 claims 1125899906842624 bytes");
  bytes_builder nested;
  nested.str("a.nested").u32(9);
  for (int i = 0; i < 10; ++i) nested.u32(9).u64(1);  // an array of one array of one array ...
  expect_error(gguf({{}}, 32, 32, nested.b, 1), "metadata 'a.nested': arrays nested more than 8 deep");
  bytes_builder unknown;
  unknown.str("a.b").u32(77).u32(0);
  expect_error(gguf({{}}, 32, 32, unknown.b, 1), "metadata 'a.b' at byte 72 has unknown value type 77");
  expect_error(gguf({{}}, 32, 32, "", 1ull << 60), "truncated header: metadata count 1152921504606846977 cannot fit in the 136 bytes left");
  bytes_builder counts;
  counts.raw("GGUF", 4).u32(3).u64(~0ull).u64(0);
  expect_error(counts.b, "tensor count 18446744073709551615 cannot fit in the 0 bytes left");
}

TEST_F(ModelFileMalformed, GgufDuplicateNames) {
  expect_error(gguf({{}, {.offset = 32}}, 64), "tensor 'tok': the name appears twice");
  bytes_builder kv;
  kv.str("general.alignment").u32(4).u32(32);
  expect_error(gguf({{}}, 32, 32, kv.b, 1), "metadata key 'general.alignment' at byte 57 appears twice");
}

TEST_F(ModelFileMalformed, GgufNonUtf8Names) {
  expect_error(gguf({{.name = "tok\xff\xfe"}}), "tensor name 'tok\\xff\\xfe' at byte 57 is not valid UTF-8");
  expect_error(gguf({{.name = "\xc0\xafoverlong"}}), "is not valid UTF-8");
  expect_error(gguf({{.name = "\xed\xa0\x80surrogate"}}), "is not valid UTF-8");
  EXPECT_EQ(open_error(gguf({{.name = "wört.嵌入"}})), "");
}

TEST_F(ModelFileMalformed, GgufVersionsAndEndianness) {
  std::string v = gguf({{}});
  v[4] = 1;
  expect_error(v, "GGUF version 1 is not supported (v2 and v3 are)");
  bytes_builder be;
  be.raw("GGUF", 4).raw("\0\0\0\3", 4).u64(0).u64(0);
  expect_error(be.b, "big-endian GGUF (version 3 stored big-endian) is not supported");
  v = gguf({{}});
  v[4] = 2;
  EXPECT_EQ(open_error(v), "");
}

TEST_F(ModelFileMalformed, GgufUnsupportedTensorsDoNotStopTheOpen) {
  const fs::path path = fs::path(::testing::TempDir()) / "embtab_model_unsupported.gguf";
  {
    const std::string b = gguf({{.name = "q5", .ne = {256, 1}, .type = 13},
                                {.name = "x", .ne = {4, 2, 2}, .offset = 192},
                                {.name = "future", .ne = {8}, .type = 99, .offset = 256},
                                {.name = "token_embd.weight", .ne = {4, 2}, .type = 30, .offset = 320},
                                {.name = "scalar", .ne = {}, .offset = 352}},
                               352);
    std::ofstream(path, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
  }
  const model_file f = model_file::open(path);
  EXPECT_EQ(skipped(f), (std::vector<std::string>{"q5: GGUF type Q5_K (13) has no embtab dtype",
                                                  "x: 3-D tensor [2, 2, 4], embtab reads 2-D ones",
                                                  "future: GGUF type id 99 is unknown, has no embtab dtype",
                                                  "scalar: 0-D tensor [], embtab reads 2-D ones"}));
  ASSERT_NE(f.token_embedding(), nullptr);
  EXPECT_EQ(f.token_embedding()->type, dtype::bf16);
  fs::remove(path);
}

TEST_F(ModelFileMalformed, NeitherFormat) {
  expect_error("", "neither GGUF (starts with 'GGUF') nor safetensors (an 8-byte header length, then '{'): 0 bytes, too short for either");
  expect_error("GGU", "neither GGUF");
  expect_error(std::string(100, 'x'), "neither GGUF");
  std::string what;
  try {
    (void)model_file::open(fixtures);
  } catch (const file_error& e) {
    what = e.what();
  }
  EXPECT_EQ(what, fixtures.string() + ": not a regular file");
  try {
    (void)model_file::open(fixtures / "no such file.gguf");
  } catch (const file_error& e) {
    what = e.what();
  }
  EXPECT_EQ(what, (fixtures / "no such file.gguf").string() + ": cannot open: No such file or directory");
}

TEST_F(ModelFileMalformed, SafetensorsHeaderLengthPastTheEnd) {
  const std::string json = R"({"tok":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]}})";
  expect_error(safetensors(json, 32, 1ull << 40), "header length 1099511627776 runs past the end of the file (91 bytes after the length)");
  expect_error(safetensors(json, 32, ~0ull - 1), "header length 18446744073709551614 runs past the end");
  expect_error(safetensors(json, 0, json.size() - 5), "header JSON at byte");  // cut inside the JSON
  expect_error(safetensors(R"({"tok":{"dtype":"F32",)", 0), "ends early");
}

TEST_F(ModelFileMalformed, SafetensorsTensorPastTheEnd) {
  expect_error(safetensors(R"({"tok":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]}})", 31),
               "tensor 'tok': data_offsets [0, 32) lie outside the data section (31 bytes from byte 67)");
  expect_error(safetensors(R"({"tok":{"dtype":"F32","shape":[2,4],"data_offsets":[32,0]}})", 32), "data_offsets [32, 0) lie outside");
  expect_error(safetensors(R"({"tok":{"dtype":"I8","shape":[2,4],"data_offsets":[0,18446744073709551615]}})", 8), "lie outside");
  expect_error(safetensors(R"({"tok":{"dtype":"F32","shape":[2,4],"data_offsets":[0,16]}})", 32),
               "tensor 'tok': data_offsets [0, 16) hold 16 bytes, shape [2, 4] of F32 needs 32");
  expect_error(safetensors(R"({"a":{"dtype":"F32","shape":[2,4],"data_offsets":[0,32]},)"
                           R"("b":{"dtype":"U8","shape":[8],"data_offsets":[24,32]}})", 32),
               "tensor data [24, 32) overlaps [0, 32)");
}

TEST_F(ModelFileMalformed, SafetensorsDimsWhoseProductOverflows) {
  expect_error(safetensors(R"({"tok":{"dtype":"F32","shape":[4294967296,4294967296,2],"data_offsets":[0,8]}})", 8),
               "tensor 'tok': shape [4294967296, 4294967296, 2]: its product overflows 64 bits");
  expect_error(safetensors(R"({"tok":{"dtype":"F32","shape":[4611686018427387904,2],"data_offsets":[0,8]}})", 8),
               "needs more than 2^64");
  expect_error(safetensors(R"({"tok":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}})", 8),
               "shape 18446744073709551616... does not fit in 64 bits");
  expect_error(safetensors(R"({"tok":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", 8), "shape is not a non-negative integer");
}

TEST_F(ModelFileMalformed, SafetensorsDuplicateAndNonUtf8Names) {
  expect_error(safetensors(R"({"tok":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                           R"("tok":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2),
               "tensor 'tok': the name appears twice in the header");
  expect_error(safetensors("{\"to\xffk\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
               "header JSON at byte 10: string 'to\\xffk' is not valid UTF-8");
  expect_error(safetensors(R"({"to\ud800k":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1), "unpaired surrogate \\u escape");
  // Escapes that make valid UTF-8 are fine: "wört".
  EXPECT_EQ(open_error(safetensors(R"({"w\u00f6rt\ud83d\ude00":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1)), "");
}

TEST_F(ModelFileMalformed, SafetensorsStructure) {
  expect_error(safetensors(R"({"tok":{"dtype":"F32","shape":[2]}})", 8), "tensor 'tok': missing data_offsets");
  expect_error(safetensors(R"({"tok":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", 8),
               "data_offsets has 3 entries, expected [begin, end]");
  std::string deep = R"({"tok":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":)";
  deep += std::string(100, '[') + std::string(100, ']') + "}}";
  expect_error(safetensors(deep, 1), "nested more than 32 deep");
  expect_error(safetensors(R"({"tok":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}} x)", 1), "text after the header object");
  expect_error(safetensors(R"({"__metadata__":{"a":1}})", 0), "expected '\"'");
  EXPECT_EQ(open_error(safetensors(R"({"__metadata__":{"a":"b"},"t":{"dtype":"F64","shape":[1],"data_offsets":[0,8],)"
                                   R"("extra":[1.5e3,true,null,{"k":"v"}]}}   )", 8)),
            "");
}

}  // namespace
