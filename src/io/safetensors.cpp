// safetensors: u64 little-endian header length N, N bytes of JSON (UTF-8, may end in spaces),
// then the data section. The JSON is an object: "__metadata__" (string -> string), and per
// tensor name {"dtype": "F32", "shape": [rows, dim], "data_offsets": [begin, end]}, offsets
// relative to the data section. A strict JSON reader for exactly that, with a nesting limit.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

#include "../dtypes/registry.hpp"
#include "model_parse.hpp"

namespace embtab::detail {
namespace {

constexpr int max_depth = 32;

class json_reader {
 public:
  json_reader(std::string_view text, std::uint64_t base, const std::string& label)
      : s_(text), base_(base), label_(label) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw_file_error(label_, "header JSON at byte " + std::to_string(base_ + pos_) + ": " + what);
  }
  void ws() noexcept {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool at_end() const noexcept { return pos_ == s_.size(); }
  char peek() {
    ws();
    if (pos_ >= s_.size()) fail("ends early (the header is " + std::to_string(s_.size()) + " bytes)");
    return s_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "', found " + quote_name(s_.substr(pos_, 1)));
    ++pos_;
  }
  // After '{' or '[': true and consumes `close` if the container is empty.
  bool empty(char close) {
    if (peek() != close) return false;
    ++pos_;
    return true;
  }
  // ',' then more, or `close` and done.
  bool more(char close) {
    const char c = peek();
    ++pos_;
    if (c == ',') return true;
    if (c == close) return false;
    fail(std::string("expected ',' or '") + close + "', found " + quote_name(std::string_view(&c, 1)));
  }

  std::string string() {
    expect('"');
    std::string out;
    const std::size_t start = pos_;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') break;
      if (c < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated string");
      switch (s_[pos_++]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') fail("unpaired surrogate \\u escape");
            pos_ += 2;
            const std::uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("unpaired surrogate \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("unpaired surrogate \\u escape");
          }
          append_utf8(out, cp);
          break;
        }
        default: fail("invalid escape in a string");
      }
    }
    if (!valid_utf8(out))
      throw_file_error(label_, "header JSON at byte " + std::to_string(base_ + start) + ": string " + quote_name(out) +
                                   " is not valid UTF-8");
    return out;
  }

  // A JSON integer in [0, 2^64).
  std::uint64_t uint(const char* what) {
    ws();
    const std::size_t start = pos_;
    std::uint64_t v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, static_cast<unsigned>(s_[pos_] - '0'), &v))
        fail(std::string(what) + " " + std::string(s_.substr(start, std::min<std::size_t>(pos_ - start + 1, 40))) +
             "... does not fit in 64 bits");
      ++pos_;
    }
    if (pos_ == start || (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) ||
        (s_[start] == '0' && pos_ - start > 1))
      fail(std::string(what) + " is not a non-negative integer");
    return v;
  }

  std::vector<std::uint64_t> uint_array(const char* what) {
    expect('[');
    std::vector<std::uint64_t> v;
    if (empty(']')) return v;
    do {
      if (v.size() >= 64) fail(std::string(what) + " has more than 64 entries");
      v.push_back(uint(what));
    } while (more(']'));
    return v;
  }

  // Any JSON value, checked and thrown away.
  void skip(int depth) {
    if (depth > max_depth) fail("nested more than " + std::to_string(max_depth) + " deep");
    const char c = peek();
    if (c == '"') {
      (void)string();
    } else if (c == '{') {
      ++pos_;
      if (empty('}')) return;
      do {
        (void)string();
        expect(':');
        skip(depth + 1);
      } while (more('}'));
    } else if (c == '[') {
      ++pos_;
      if (empty(']')) return;
      do skip(depth + 1);
      while (more(']'));
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      if (c == '-') ++pos_;
      const std::size_t start = pos_;
      while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' ||
                                  s_[pos_] == 'e' || s_[pos_] == 'E' || s_[pos_] == '+' || s_[pos_] == '-'))
        ++pos_;
      if (pos_ == start) fail("malformed number");
    } else {
      for (const std::string_view word : {"true", "false", "null"})
        if (s_.substr(pos_, word.size()) == word) {
          pos_ += word.size();
          return;
        }
      fail("unexpected " + quote_name(s_.substr(pos_, 1)));
    }
  }

 private:
  std::uint32_t hex4() {
    if (pos_ + 4 > s_.size()) fail("short \\u escape");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) fail("bad hex digit in a \\u escape");
      v = v * 16 + static_cast<std::uint32_t>(d);
    }
    return v;
  }
  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view s_;
  std::uint64_t base_;  // file offset of s_[0], for messages
  const std::string& label_;
  std::size_t pos_ = 0;
};

// embtab's dtype for a safetensors dtype string: the registry entry of that name in lower
// case, if it is an element type (one value a block, no row metadata), as every safetensors
// dtype is. "Q8_0" or "INT8_ROWWISE" are not safetensors dtypes and find nothing.
std::optional<dtype> element_dtype(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto type = dtype_from_name(lower);
  if (!type || info(*type).block_values != 1 || info(*type).row_meta_bytes != 0) return std::nullopt;
  return type;
}

bool is_token_table_name(std::string_view name) noexcept {
  return name == "wte.weight" || name.ends_with("embed_tokens.weight") || name.ends_with("word_embeddings.weight");
}

struct entry {
  std::string name;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;
};

}  // namespace

parsed_model parse_safetensors(std::span<const std::byte> bytes, const std::string& label) {
  if (bytes.size() < 8)
    throw_file_error(label, "truncated: " + std::to_string(bytes.size()) +
                                " bytes, a safetensors file starts with an 8-byte header length");
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > bytes.size() - 8)
    throw_file_error(label, "header length " + std::to_string(n) + " runs past the end of the file (" +
                                std::to_string(bytes.size() - 8) + " bytes after the length)");
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + 8, n);
  const std::uint64_t data_start = 8 + n, data_size = bytes.size() - data_start;

  json_reader j(text, 8, label);
  std::vector<entry> entries;
  std::unordered_set<std::string> names;
  j.expect('{');
  if (!j.empty('}')) {
    do {
      std::string key = j.string();
      j.expect(':');
      if (key == "__metadata__") {  // string -> string
        j.expect('{');
        if (!j.empty('}')) {
          do {
            (void)j.string();
            j.expect(':');
            (void)j.string();
          } while (j.more('}'));
        }
        continue;
      }
      if (!names.insert(key).second) throw_tensor_error(label, key, "the name appears twice in the header");
      entry e;
      e.name = std::move(key);
      bool have_dtype = false, have_shape = false, have_offsets = false;
      j.expect('{');
      if (!j.empty('}')) {
        do {
          const std::string field = j.string();
          j.expect(':');
          if (field == "dtype") {
            e.dtype = j.string();
            have_dtype = true;
          } else if (field == "shape") {
            e.shape = j.uint_array("shape");
            have_shape = true;
          } else if (field == "data_offsets") {
            const auto offsets = j.uint_array("data_offsets");
            if (offsets.size() != 2)
              throw_tensor_error(label, e.name, "data_offsets has " + std::to_string(offsets.size()) +
                                                    " entries, expected [begin, end]");
            e.begin = offsets[0];
            e.end = offsets[1];
            have_offsets = true;
          } else {
            j.skip(1);
          }
        } while (j.more('}'));
      }
      if (!have_dtype || !have_shape || !have_offsets)
        throw_tensor_error(label, e.name, std::string("missing ") + (!have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets"));
      entries.push_back(std::move(e));
    } while (j.more('}'));
  }
  j.ws();
  if (!j.at_end()) j.fail("text after the header object");

  parsed_model m;
  m.format = "safetensors";
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  int token_candidates = 0;
  for (entry& e : entries) {
    if (e.begin > e.end || e.end > data_size)
      throw_tensor_error(label, e.name, "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                                            ") lie outside the data section (" + std::to_string(data_size) +
                                            " bytes from byte " + std::to_string(data_start) + ")");
    std::uint64_t elements = 0;
    if (!checked_product(e.shape, elements))
      throw_tensor_error(label, e.name, "shape " + shape_string(e.shape) + ": its product overflows 64 bits");
    const auto type = element_dtype(e.dtype);
    if (type) {
      std::uint64_t need = 0;
      const bool overflow = __builtin_mul_overflow(elements, info(*type).block_bytes, &need);
      if (overflow || need != e.end - e.begin)
        throw_tensor_error(label, e.name, "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                                              ") hold " + std::to_string(e.end - e.begin) + " bytes, shape " +
                                              shape_string(e.shape) + " of " + e.dtype + " needs " +
                                              (overflow ? "more than 2^64" : std::to_string(need)));
    }
    ranges.emplace_back(e.begin, e.end);
    if (e.shape.size() == 2 && is_token_table_name(e.name)) ++token_candidates;
    if (!type) {
      m.skipped.push_back(e.name + ": safetensors dtype " + quote_name(e.dtype) + " has no embtab dtype");
      continue;
    }
    if (e.shape.size() != 2) {
      m.skipped.push_back(e.name + ": " + std::to_string(e.shape.size()) + "-D tensor " + shape_string(e.shape) +
                          ", embtab reads 2-D ones");
      continue;
    }
    if (e.shape[0] == 0 || e.shape[1] == 0) {
      m.skipped.push_back(e.name + ": empty tensor " + shape_string(e.shape));
      continue;
    }
    m.tensors.push_back({e.name, *type, e.shape, data_start + e.begin, e.end - e.begin});
    if (is_token_table_name(e.name)) m.token = static_cast<std::ptrdiff_t>(m.tensors.size() - 1);
  }
  if (token_candidates != 1) m.token = -1;

  // No two tensors share a byte (empty ones share none).
  std::sort(ranges.begin(), ranges.end());
  std::pair<std::uint64_t, std::uint64_t> last{0, 0};
  for (const auto& r : ranges) {
    if (r.first == r.second) continue;
    if (r.first < last.second)
      throw_file_error(label, "tensor data [" + std::to_string(r.first) + ", " + std::to_string(r.second) +
                                  ") overlaps [" + std::to_string(last.first) + ", " + std::to_string(last.second) +
                                  ") (data_offsets, from byte " + std::to_string(data_start) + ")");
    last = r;
  }
  return m;
}

}  // namespace embtab::detail
