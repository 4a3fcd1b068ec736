// Model-file parsing over bytes in memory: GGUF and safetensors headers -> tensor_info.
//
// The parsers never read outside `bytes` and trust no count, size or offset in it: every one
// is checked against what is left (overflow-checked) before it is used. They throw
// file_error for a malformed file; well-formed tensors embtab cannot read go to `skipped`.
// model_file::open runs them over a read-only mapping; the fuzz harness over a heap buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "embtab/model_file.hpp"

namespace embtab::detail {

struct parsed_model {
  std::string format;  // "GGUF v3", "safetensors"
  std::vector<tensor_info> tensors;
  std::vector<std::string> skipped;
  // Index into tensors of the token table, or -1 (none, or ambiguous).
  std::ptrdiff_t token = -1;
};

// `label` names the file in messages (its path).
parsed_model parse_gguf(std::span<const std::byte> bytes, const std::string& label);
parsed_model parse_safetensors(std::span<const std::byte> bytes, const std::string& label);
// Either format, told apart by content: "GGUF" magic, or a safetensors header ('{' at byte 8).
parsed_model parse_model(std::span<const std::byte> bytes, const std::string& label);

// A model_file over bytes someone else keeps alive (owner may be null: then the caller does).
struct model_file_access {
  static model_file from_bytes(std::span<const std::byte> bytes,
                               std::shared_ptr<const void> owner,
                               const std::filesystem::path& path);
};

// Helpers shared by the parsers.
[[noreturn]] void throw_file_error(const std::string& label, const std::string& what);
[[noreturn]] void throw_tensor_error(const std::string& label, std::string_view tensor,
                                     const std::string& what);
// `s` in single quotes for a message: bytes outside printable ASCII and UTF-8 as \xNN, quotes
// and backslashes escaped, at most 80 bytes of it.
std::string quote_name(std::string_view s);
bool valid_utf8(std::string_view s) noexcept;
// "[a, b, c]"
std::string shape_string(std::span<const std::uint64_t> shape);
// Product of dims, false on overflow of 64 bits.
bool checked_product(std::span<const std::uint64_t> dims, std::uint64_t& product) noexcept;

}  // namespace embtab::detail
