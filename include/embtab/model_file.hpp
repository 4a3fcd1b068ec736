// embtab/model_file.hpp: token tables straight from GGUF and safetensors files, memory-mapped.
//
//   auto file = embtab::model_file::open("SmolLM2-135M-Instruct.Q4_1.gguf");
//   embtab::table t = file.load(*file.token_embedding());  // a view of the mapping, no copy
//   if (auto s = embtab::lookup(t, ids, out); !s.ok()) ...
//
// Safe on hostile files: every count, size and offset a file states is checked against the
// file's length before it is used (with overflow checks), metadata is skipped by type without
// trusting its counts, and a file that is malformed anywhere is refused whole with a
// file_error that names the path, the tensor and the numbers. Nothing is read past the end of
// the file. (As with every memory-mapped reader, a file that another process truncates while
// it is mapped can still raise SIGBUS on a later lookup.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "embtab/dtype.hpp"
#include "embtab/export.h"
#include "embtab/table.hpp"

namespace embtab {

// One tensor of a model file that embtab can read: 2-D, of a registered dtype.
struct tensor_info {
  std::string name;                  // as the file spells it (valid UTF-8)
  dtype type;                        // embtab's dtype for the stored type (the registry's name
                                     // of the file's type: GGUF Q8_0 -> q8_0, safetensors BF16 -> bf16)
  std::vector<std::uint64_t> shape;  // outermost first, as PyTorch writes it: {rows, dim}.
                                     // GGUF stores dims innermost first; they are reversed here.
  std::uint64_t offset;              // of the first byte in the file
  std::uint64_t bytes;               // rows * row_bytes(type, dim), all inside the file
};

// What open() and load() throw for a file embtab cannot use. what() is one line:
// "<path>: <tensor>: <what is wrong, with the numbers>" (the tensor part only when one is
// concerned), e.g. "m.gguf: tensor 'tok': data [1024, 5120) ends past the end of the file (4096 bytes)".
class EMBTAB_API file_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
struct model_file_access;
}

// A memory-mapped model file and the tensors in it. Movable, not copyable; tables loaded from
// it stay valid after it is destroyed (they share the mapping). Any number of threads may use
// a model_file and its tables at once (everything is read-only after open()).
class EMBTAB_API model_file {
 public:
  // GGUF (v2, v3; little-endian) or safetensors, told apart by content, not by extension.
  // Memory-maps the file read-only and parses its header; does not read the tensor data.
  // Throws file_error (naming the path and the numbers) if the file cannot be opened or
  // mapped, is neither format, or is malformed anywhere: a truncated header, a tensor whose
  // bytes lie outside the file, dims whose product overflows, a GGUF offset not a multiple of
  // general.alignment, an absurd string or array length, duplicate tensor names, a
  // safetensors header length past the end, a name that is not valid UTF-8, a safetensors
  // tensor whose byte range does not match its shape or overlaps another. A well-formed
  // tensor embtab cannot read (another type, not 2-D) does not stop the open: see skipped().
  static model_file open(const std::filesystem::path& path);

  model_file(model_file&&) noexcept;
  model_file& operator=(model_file&&) noexcept;
  model_file(const model_file&) = delete;
  model_file& operator=(const model_file&) = delete;
  ~model_file();

  // The tensors embtab can read, in file order: 2-D, of a type the registry has (safetensors
  // F32, F16, BF16; GGUF F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K), with both dims positive.
  std::span<const tensor_info> tensors() const noexcept;
  // "name: why" for each well-formed tensor embtab cannot read, in file order, e.g.
  // "blk.0.ffn_up.weight: GGUF type Q4_1 (3) has no embtab dtype" or "pos: 1-D tensor [576]".
  std::span<const std::string> skipped() const noexcept;
  // The tensor of tensors() named exactly `name`; nullptr if there is none.
  const tensor_info* find(std::string_view name) const noexcept;
  // Why the tensor named exactly `name` is among skipped() (its "why", after "name: "); empty
  // if it is not. Points into skipped().
  std::string_view skip_reason(std::string_view name) const noexcept;
  // The model's token table: GGUF "token_embd.weight"; safetensors: the one 2-D tensor whose
  // name is "wte.weight" or ends in "embed_tokens.weight" or "word_embeddings.weight".
  // nullptr if there is none among tensors(), or (safetensors) more than one.
  const tensor_info* token_embedding() const noexcept;

  // A table over a 2-D tensor of this file. copy = false: a view of the mapping (table::wrap,
  // packed rows at the file's offset, any alignment); the mapping stays alive as long as the
  // table, even after this model_file is gone; only the rows a lookup reads are paged in.
  // copy = true: an owning 64-byte aligned table (table::from_blocks), which reads the whole
  // tensor once. Throws file_error if `tensor` is not a 2-D tensor lying inside this file
  // (any tensor_info from tensors() is), std::bad_alloc for a copy that cannot be had.
  table load(const tensor_info& tensor, bool copy = false) const;

  // "GGUF v3" or "safetensors".
  std::string_view format() const noexcept;
  // The path given to open().
  const std::filesystem::path& path() const noexcept;
  // Length of the file in bytes.
  std::uint64_t file_bytes() const noexcept;

 private:
  friend struct detail::model_file_access;
  model_file() noexcept;
  struct state;
  std::unique_ptr<state> s_;
};

}  // namespace embtab
