// libFuzzer harness for the model-file opener (GGUF and safetensors) over the input bytes as a
// whole file: the parser runs over an exactly sized heap copy, so AddressSanitizer reports any
// read past the end. Each input must either open, with every tensor inside the file, 2-D, of
// the size its shape and dtype make, and a view and a copy of it looking up the same first,
// middle and last rows; or be refused with a file_error that names the file. Anything else
// (another exception, a crash, a sanitizer report, a hang) is a finding.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "embtab/embtab.hpp"
#include "fuzz_common.hpp"
#include "io/model_parse.hpp"

namespace {

const std::string label = "fuzz-input";

void check_tensor(const embtab::model_file& f, const embtab::tensor_info& t, std::size_t size) {
  FUZZ_CHECK(t.offset <= size && t.bytes <= size - t.offset, "%s: [%llu, +%llu) outside %zu bytes", t.name.c_str(),
             static_cast<unsigned long long>(t.offset), static_cast<unsigned long long>(t.bytes), size);
  FUZZ_CHECK(t.shape.size() == 2 && t.shape[0] > 0 && t.shape[1] > 0, "%s: not a 2-D tensor", t.name.c_str());
  FUZZ_CHECK(t.bytes == t.shape[0] * embtab::row_bytes(t.type, t.shape[1]), "%s: bytes %llu", t.name.c_str(),
             static_cast<unsigned long long>(t.bytes));
  const embtab::table view = f.load(t);
  const std::size_t rows = view.rows(), dim = view.dim();
  const std::int64_t ids[] = {0, static_cast<std::int64_t>(rows / 2), static_cast<std::int64_t>(rows - 1)};
  std::vector<float> a(3 * dim), b(3 * dim);
  const auto s = embtab::lookup(view, ids, a);
  FUZZ_CHECK(s.ok(), "%s: %s", t.name.c_str(), s.message().c_str());
  if (t.bytes > (1u << 20)) return;
  const embtab::table copy = f.load(t, true);
  FUZZ_CHECK(embtab::lookup(copy, ids, b).ok(), "copy lookup");
  for (std::size_t i = 0; i < a.size(); ++i)
    FUZZ_CHECK(embtab::fuzz::same_value(a[i], b[i], true), "%s: view and copy differ at %zu", t.name.c_str(), i);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An exactly sized buffer of its own (libFuzzer's may be larger than `size`).
  auto file = std::shared_ptr<std::byte[]>(new std::byte[size == 0 ? 1 : size]);
  if (size != 0) std::memcpy(file.get(), data, size);
  const std::span<const std::byte> bytes(file.get(), size);
  try {
    const auto f = embtab::detail::model_file_access::from_bytes(bytes, file, label);
    for (const auto& t : f.tensors()) check_tensor(f, t, size);
    if (const auto* tok = f.token_embedding(); tok != nullptr)
      FUZZ_CHECK(tok >= f.tensors().data() && tok < f.tensors().data() + f.tensors().size(), "token table not a tensor");
    for (const auto& why : f.skipped()) FUZZ_CHECK(!why.empty(), "empty skipped entry");
  } catch (const embtab::file_error& e) {
    FUZZ_CHECK(std::strncmp(e.what(), "fuzz-input: ", 12) == 0, "message does not name the file: %s", e.what());
  }
  return 0;
}
