// model_file: a mapping, the parsed header, and tables over its tensors.
#include "embtab/model_file.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "../dtypes/registry.hpp"
#include "mmap.hpp"
#include "model_parse.hpp"

namespace embtab {
namespace detail {

void throw_file_error(const std::string& label, const std::string& what) {
  throw file_error(label + ": " + what);
}

void throw_tensor_error(const std::string& label, std::string_view tensor, const std::string& what) {
  throw file_error(label + ": tensor " + quote_name(tensor) + ": " + what);
}

bool valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    unsigned cp, min;
    if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int k = 1; k <= n; ++k) {
      if ((p[k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

std::string quote_name(std::string_view s) {
  const bool utf8 = valid_utf8(s);
  std::string out = "'";
  const std::size_t shown = std::min<std::size_t>(s.size(), 80);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\'' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && !utf8)) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown < s.size()) out += "...";
  return out + "'";
}

std::string shape_string(std::span<const std::uint64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool checked_product(std::span<const std::uint64_t> dims, std::uint64_t& product) noexcept {
  std::uint64_t p = 1;
  for (const std::uint64_t d : dims)
    if (__builtin_mul_overflow(p, d, &p)) return false;
  product = p;
  return true;
}

parsed_model parse_model(std::span<const std::byte> bytes, const std::string& label) {
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), "GGUF", 4) == 0) return parse_gguf(bytes, label);
  if (bytes.size() >= 9 && bytes[8] == std::byte{'{'}) return parse_safetensors(bytes, label);
  throw_file_error(label, "neither GGUF (starts with 'GGUF') nor safetensors (an 8-byte header length, then '{'): " +
                              std::to_string(bytes.size()) + " bytes" +
                              (bytes.size() < 9 ? ", too short for either" : ""));
}

}  // namespace detail

struct model_file::state {
  std::shared_ptr<const void> owner;
  const detail::mapped_file* mapping = nullptr;  // when open() made the owner
  std::span<const std::byte> bytes;
  std::filesystem::path path;
  detail::parsed_model parsed;
};

model_file detail::model_file_access::from_bytes(std::span<const std::byte> bytes,
                                                 std::shared_ptr<const void> owner,
                                                 const std::filesystem::path& path) {
  model_file f;
  f.s_ = std::make_unique<model_file::state>();
  f.s_->parsed = parse_model(bytes, path.string());
  f.s_->owner = std::move(owner);
  f.s_->bytes = bytes;
  f.s_->path = path;
  return f;
}

model_file::model_file() noexcept = default;
model_file::model_file(model_file&&) noexcept = default;
model_file& model_file::operator=(model_file&&) noexcept = default;
model_file::~model_file() = default;

model_file model_file::open(const std::filesystem::path& path) {
  auto mapping = detail::mapped_file::open(path);
  const auto bytes = mapping->bytes();
  const detail::mapped_file* raw = mapping.get();
  model_file f = detail::model_file_access::from_bytes(bytes, std::move(mapping), path);
  f.s_->mapping = raw;
  return f;
}

std::span<const tensor_info> model_file::tensors() const noexcept {
  return s_ ? std::span<const tensor_info>(s_->parsed.tensors) : std::span<const tensor_info>();
}

std::span<const std::string> model_file::skipped() const noexcept {
  return s_ ? std::span<const std::string>(s_->parsed.skipped) : std::span<const std::string>();
}

const tensor_info* model_file::find(std::string_view name) const noexcept {
  for (const auto& t : tensors())
    if (t.name == name) return &t;
  return nullptr;
}

std::string_view model_file::skip_reason(std::string_view name) const noexcept {
  for (const std::string_view why : skipped())
    if (why.size() > name.size() + 2 && why.substr(0, name.size()) == name && why.substr(name.size(), 2) == ": ")
      return why.substr(name.size() + 2);
  return {};
}

const tensor_info* model_file::token_embedding() const noexcept {
  if (!s_ || s_->parsed.token < 0) return nullptr;
  return &s_->parsed.tensors[static_cast<std::size_t>(s_->parsed.token)];
}

std::string_view model_file::format() const noexcept { return s_ ? s_->parsed.format : std::string_view(); }

const std::filesystem::path& model_file::path() const noexcept {
  static const std::filesystem::path none;
  return s_ ? s_->path : none;
}

std::uint64_t model_file::file_bytes() const noexcept { return s_ ? s_->bytes.size() : 0; }

table model_file::load(const tensor_info& tensor, bool copy) const {
  const std::string label = s_ ? s_->path.string() : std::string("(moved-from model_file)");
  if (!s_) detail::throw_tensor_error(label, tensor.name, "load() on a moved-from model_file");
  // Re-checked here, not trusted: the caller may pass a tensor_info of its own making.
  if (tensor.shape.size() != 2)
    detail::throw_tensor_error(label, tensor.name,
                               "load() needs a 2-D tensor, this one is " + std::to_string(tensor.shape.size()) +
                                   "-D " + detail::shape_string(tensor.shape));
  const std::uint64_t rows = tensor.shape[0], dim = tensor.shape[1];
  const auto row = detail::row_size_of(tensor.type, dim);
  std::uint64_t need = 0;
  if (rows == 0 || dim == 0 || row.error != detail::row_error::none || __builtin_mul_overflow(rows, row.bytes, &need) ||
      need != tensor.bytes)
    detail::throw_tensor_error(label, tensor.name,
                               "shape " + detail::shape_string(tensor.shape) + " of " + to_string(tensor.type) +
                                   " does not make " + std::to_string(tensor.bytes) + " bytes");
  const std::uint64_t size = s_->bytes.size();
  if (tensor.offset > size || tensor.bytes > size - tensor.offset)
    detail::throw_tensor_error(label, tensor.name,
                               "data at offset " + std::to_string(tensor.offset) + ", " +
                                   std::to_string(tensor.bytes) + " bytes, lies outside the file (" +
                                   std::to_string(size) + " bytes)");
  const auto memory = s_->bytes.subspan(tensor.offset, tensor.bytes);
  if (copy) {
    if (s_->mapping != nullptr) s_->mapping->will_read(tensor.offset, tensor.bytes);
    return table::from_blocks(memory, rows, dim, tensor.type);
  }
  return table::wrap(memory, rows, dim, tensor.type, 0, s_->owner);
}

}  // namespace embtab
