// GGUF (v2, v3, little-endian): header, metadata (skipped by type, only general.alignment is
// read), tensor infos, data section. The layout, from the GGUF spec (ggml docs/gguf.md):
//   u32 magic "GGUF", u32 version, u64 tensor_count, u64 metadata_kv_count,
//   metadata_kv_count x { string key, u32 value_type, value },
//   tensor_count x { string name, u32 n_dims, u64 ne[n_dims] (innermost first), u32 type,
//                    u64 offset (from the data section, a multiple of general.alignment) },
//   padding to general.alignment (default 32), the data section.
// A string is a u64 length and that many bytes (no NUL).
#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <unordered_set>

#include "../dtypes/registry.hpp"
#include "model_parse.hpp"

namespace embtab::detail {
static_assert(sizeof(std::size_t) == sizeof(std::uint64_t), "file offsets are size_t here");
namespace {

// ggml's type names by id (gguf-py GGMLQuantizationType), for messages and for the registry
// lookup: an embtab dtype is the one whose registry name is this name in lower case (Q8_0 ->
// q8_0). Ids not listed are unknown (removed or newer types).
std::optional<std::string_view> ggml_type_name(std::uint32_t id) noexcept {
  static constexpr std::string_view names[] = {
      "F32",     "F16",    "Q4_0",   "Q4_1",  "",     "",     "Q5_0", "Q5_1",    "Q8_0",   "Q8_1",  "Q2_K",
      "Q3_K",    "Q4_K",   "Q5_K",   "Q6_K",  "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S",
      "IQ2_S",   "IQ4_XS", "I8",     "I16",   "I32",  "I64",  "F64",  "IQ1_M",   "BF16",   "",      "",
      "",        "TQ1_0",  "TQ2_0",  "",      "",     "",     "MXFP4"};
  if (id >= std::size(names) || names[id].empty()) return std::nullopt;
  return names[id];
}

std::optional<dtype> registry_dtype(std::string_view file_type_name) {
  std::string lower(file_type_name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return dtype_from_name(lower);
}

enum value_type : std::uint32_t {
  t_uint8 = 0, t_int8, t_uint16, t_int16, t_uint32, t_int32, t_float32, t_bool, t_string, t_array,
  t_uint64, t_int64, t_float64,
};

// Bytes of one value of a fixed-size type; 0 for string, array and unknown types.
std::uint64_t fixed_size(std::uint32_t type) noexcept {
  switch (type) {
    case t_uint8: case t_int8: case t_bool: return 1;
    case t_uint16: case t_int16: return 2;
    case t_uint32: case t_int32: case t_float32: return 4;
    case t_uint64: case t_int64: case t_float64: return 8;
    default: return 0;
  }
}

constexpr int max_array_depth = 8;  // gguf files nest arrays one level deep, if at all

// A bounds-checked little-endian reader over the header.
class reader {
 public:
  reader(std::span<const std::byte> bytes, const std::string& label) : b_(bytes), label_(label) {}

  std::uint64_t pos() const noexcept { return pos_; }
  std::uint64_t left() const noexcept { return b_.size() - pos_; }
  const std::string& label() const noexcept { return label_; }

  [[noreturn]] void truncated(const std::string& what, std::uint64_t need) const {
    throw_file_error(label_, "truncated header: " + what + " at byte " + std::to_string(pos_) + " needs " +
                                 std::to_string(need) + " bytes, the file has " + std::to_string(left()) +
                                 " left (" + std::to_string(b_.size()) + " in all)");
  }
  void need(std::uint64_t n, const std::string& what) const {
    if (n > left()) truncated(what, n);
  }
  std::uint32_t u32(const char* what) {
    need(4, what);
    std::uint32_t v;
    std::memcpy(&v, b_.data() + pos_, 4);
    pos_ += 4;
    return v;
  }
  std::uint64_t u64(const char* what) {
    need(8, what);
    std::uint64_t v;
    std::memcpy(&v, b_.data() + pos_, 8);
    pos_ += 8;
    return v;
  }
  std::string_view string(const char* what) {
    const std::uint64_t at = pos_;
    const std::uint64_t n = u64(what);
    if (n > left())
      throw_file_error(label_, std::string(what) + " at byte " + std::to_string(at) + " claims " + std::to_string(n) +
                                   " bytes, past the end of the file (" + std::to_string(left()) + " left)");
    const std::string_view s(reinterpret_cast<const char*>(b_.data()) + pos_, n);
    pos_ += n;
    return s;
  }
  void skip(std::uint64_t n) { pos_ += n; }  // after need()

 private:
  std::span<const std::byte> b_;
  const std::string& label_;
  std::uint64_t pos_ = 0;
};

// Skips one metadata value of `type` without trusting its counts: each count is checked
// against the bytes left before anything is skipped or looped over.
void skip_value(reader& r, std::uint32_t type, std::string_view key, int depth) {
  if (const std::uint64_t size = fixed_size(type); size != 0) {
    r.need(size, "metadata value of " + quote_name(key));
    r.skip(size);
    return;
  }
  if (type == t_string) {
    (void)r.string("metadata string");
    return;
  }
  if (type != t_array)
    throw_file_error(r.label(), "metadata " + quote_name(key) + " at byte " + std::to_string(r.pos()) +
                                    " has unknown value type " + std::to_string(type));
  if (depth >= max_array_depth)
    throw_file_error(r.label(), "metadata " + quote_name(key) + ": arrays nested more than " +
                                    std::to_string(max_array_depth) + " deep");
  const std::uint64_t at = r.pos();
  const std::uint32_t elem = r.u32("metadata array type");
  const std::uint64_t count = r.u64("metadata array length");
  // The least one element can take: its fixed size, a string's length, an array's type and length.
  const std::uint64_t least = fixed_size(elem) != 0 ? fixed_size(elem) : elem == t_string ? 8 : elem == t_array ? 12 : 0;
  if (least == 0)
    throw_file_error(r.label(), "metadata " + quote_name(key) + ": array at byte " + std::to_string(at) +
                                    " has unknown element type " + std::to_string(elem));
  if (count > r.left() / least)
    throw_file_error(r.label(), "metadata " + quote_name(key) + ": array at byte " + std::to_string(at) + " of " +
                                    std::to_string(count) + " elements (at least " + std::to_string(least) +
                                    " bytes each) runs past the end of the file (" + std::to_string(r.left()) +
                                    " bytes left)");
  if (fixed_size(elem) != 0) {
    r.skip(count * least);
    return;
  }
  for (std::uint64_t i = 0; i < count; ++i) skip_value(r, elem, key, depth + 1);
}

struct raw_tensor {
  std::string_view name;
  std::vector<std::uint64_t> ne;  // innermost first, as stored
  std::uint32_t type;
  std::uint64_t offset;           // from the data section
};

}  // namespace

parsed_model parse_gguf(std::span<const std::byte> bytes, const std::string& label) {
  reader r(bytes, label);
  r.need(4, "magic");
  r.skip(4);
  const std::uint32_t version = r.u32("version");
  if (version != 2 && version != 3) {
    const std::uint32_t swapped = __builtin_bswap32(version);
    if (swapped == 2 || swapped == 3)
      throw_file_error(label, "big-endian GGUF (version " + std::to_string(swapped) +
                                  " stored big-endian) is not supported: embtab reads little-endian GGUF");
    throw_file_error(label, "GGUF version " + std::to_string(version) + " is not supported (v2 and v3 are)");
  }
  const std::uint64_t tensor_count = r.u64("tensor count");
  const std::uint64_t kv_count = r.u64("metadata count");
  if (kv_count > r.left() / 13)
    throw_file_error(label, "truncated header: metadata count " + std::to_string(kv_count) + " cannot fit in the " +
                                std::to_string(r.left()) + " bytes left (13 or more each)");

  std::uint64_t alignment = 32;
  std::unordered_set<std::string_view> keys;
  for (std::uint64_t i = 0; i < kv_count; ++i) {
    const std::uint64_t at = r.pos();
    const std::string_view key = r.string("metadata key");
    if (!valid_utf8(key))
      throw_file_error(label, "metadata key " + quote_name(key) + " at byte " + std::to_string(at) + " is not valid UTF-8");
    if (!keys.insert(key).second)
      throw_file_error(label, "metadata key " + quote_name(key) + " at byte " + std::to_string(at) + " appears twice");
    const std::uint32_t type = r.u32("metadata value type");
    if (key == "general.alignment") {
      if (type != t_uint32)
        throw_file_error(label, "general.alignment has value type " + std::to_string(type) + ", expected uint32 (4)");
      alignment = r.u32("general.alignment");
      if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        throw_file_error(label, "general.alignment " + std::to_string(alignment) + " is not a power of two");
      continue;
    }
    skip_value(r, type, key, 0);
  }

  // The least a tensor info takes: name length 8, n_dims 4, no dims (0-D), type 4, offset 8.
  if (tensor_count > r.left() / 24)
    throw_file_error(label, "truncated header: tensor count " + std::to_string(tensor_count) + " cannot fit in the " +
                                std::to_string(r.left()) + " bytes left (24 or more each)");
  std::vector<raw_tensor> raw;
  raw.reserve(tensor_count);
  std::unordered_set<std::string_view> names;
  for (std::uint64_t i = 0; i < tensor_count; ++i) {
    const std::uint64_t at = r.pos();
    raw_tensor t;
    t.name = r.string("tensor name");
    if (!valid_utf8(t.name))
      throw_file_error(label, "tensor name " + quote_name(t.name) + " at byte " + std::to_string(at) + " is not valid UTF-8");
    if (!names.insert(t.name).second)
      throw_tensor_error(label, t.name, "the name appears twice (tensor infos " + std::to_string(i) + " and before)");
    const std::uint32_t n_dims = r.u32("n_dims");
    if (n_dims > 4) throw_tensor_error(label, t.name, std::to_string(n_dims) + " dims, GGUF allows at most 4");
    t.ne.resize(n_dims);
    for (auto& d : t.ne) d = r.u64("dim");
    std::uint64_t elements = 0;
    if (!checked_product(t.ne, elements) || elements > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw_tensor_error(label, t.name, "dims " + shape_string(t.ne) +
                                            " (innermost first): their product overflows 63 bits");
    t.type = r.u32("tensor type");
    t.offset = r.u64("tensor offset");
    raw.push_back(std::move(t));
  }

  const std::uint64_t header_end = r.pos();
  std::uint64_t data_start = 0;
  if (__builtin_add_overflow(header_end, alignment - 1, &data_start))
    throw_file_error(label, "data section offset overflows");
  data_start -= data_start % alignment;
  if (!raw.empty() && data_start > bytes.size())
    throw_file_error(label, "truncated: the data section starts at byte " + std::to_string(data_start) +
                                " (header end " + std::to_string(header_end) + " aligned to " +
                                std::to_string(alignment) + "), past the end of the file (" +
                                std::to_string(bytes.size()) + " bytes)");
  const std::uint64_t data_size = raw.empty() ? 0 : bytes.size() - data_start;

  parsed_model m;
  m.format = "GGUF v" + std::to_string(version);
  for (const raw_tensor& t : raw) {
    std::vector<std::uint64_t> shape(t.ne.rbegin(), t.ne.rend());  // outermost first
    if (t.offset % alignment != 0)
      throw_tensor_error(label, t.name, "offset " + std::to_string(t.offset) + " is not a multiple of general.alignment " +
                                            std::to_string(alignment));
    if (t.offset > data_size)
      throw_tensor_error(label, t.name, "offset " + std::to_string(t.offset) + " lies past the end of the data section (" +
                                            std::to_string(data_size) + " bytes from byte " +
                                            std::to_string(data_start) + ")");
    if (t.ne.empty()) {  // a scalar: well-formed, not a table (its size is not checked)
      m.skipped.push_back(std::string(t.name) + ": 0-D tensor [], embtab reads 2-D ones");
      continue;
    }
    const auto type_name = ggml_type_name(t.type);
    const auto known = type_name ? registry_dtype(*type_name) : std::nullopt;
    const std::string name(t.name);
    if (!known) {
      m.skipped.push_back(name + ": GGUF type " + (type_name ? std::string(*type_name) + " (" : "id ") +
                          std::to_string(t.type) + (type_name ? ")" : " is unknown,") + " has no embtab dtype");
      continue;
    }
    const dtype type = *known;
    const auto row = row_size_of(type, t.ne[0]);
    if (row.error == row_error::not_block_multiple)
      throw_tensor_error(label, t.name, "dim " + std::to_string(t.ne[0]) + " is not a multiple of " +
                                            std::string(*type_name) + "'s " +
                                            std::to_string(info(type).block_values) + " values per block");
    std::uint64_t outer = 1, tensor_bytes = 0;
    (void)checked_product(std::span(t.ne).subspan(1), outer);  // a factor of the checked product
    if (row.error != row_error::none || __builtin_mul_overflow(outer, row.bytes, &tensor_bytes))
      throw_tensor_error(label, t.name, "shape " + shape_string(shape) + " of " + std::string(*type_name) +
                                            ": its byte size overflows 64 bits");
    if (tensor_bytes > data_size - t.offset)
      throw_tensor_error(label, t.name, "data [" + std::to_string(data_start + t.offset) + ", +" +
                                            std::to_string(tensor_bytes) + " bytes) ends past the end of the file (" +
                                            std::to_string(bytes.size()) + " bytes)");
    if (shape.size() != 2) {
      m.skipped.push_back(name + ": " + std::to_string(shape.size()) + "-D tensor " + shape_string(shape) +
                          ", embtab reads 2-D ones");
      continue;
    }
    if (shape[0] == 0 || shape[1] == 0) {
      m.skipped.push_back(name + ": empty tensor " + shape_string(shape));
      continue;
    }
    m.tensors.push_back({name, type, std::move(shape), data_start + t.offset, tensor_bytes});
    if (name == "token_embd.weight") m.token = static_cast<std::ptrdiff_t>(m.tensors.size() - 1);
  }
  return m;
}

}  // namespace embtab::detail
