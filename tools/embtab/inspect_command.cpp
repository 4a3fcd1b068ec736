// `embtab inspect FILE`: what embtab sees in a GGUF or safetensors file: its format, the
// tensors it can read (name, dtype, shape, bytes), which one is the token table, and every
// tensor it skipped, with the reason.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <embtab/embtab.hpp>

#include "commands.hpp"
#include "model_args.hpp"

namespace embtab::tool {
namespace {

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
  return s;
}

void run_inspect(const std::string& path) {
  const model_file f = open_model("inspect", path);
  std::printf("%s: %.*s, %llu bytes\n", path.c_str(), static_cast<int>(f.format().size()), f.format().data(),
              static_cast<unsigned long long>(f.file_bytes()));
  const auto tensors = f.tensors();
  std::size_t name_w = 4, type_w = 5, shape_w = 5;
  for (const auto& t : tensors) {
    name_w = std::max(name_w, t.name.size());
    type_w = std::max(type_w, std::string_view(to_string(t.type)).size());
    shape_w = std::max(shape_w, shape_text(t.shape).size());
  }
  std::printf("\ntensors embtab reads: %zu\n", tensors.size());
  if (!tensors.empty())
    std::printf("  %-*s  %-*s  %-*s  %12s  %s\n", static_cast<int>(name_w), "name", static_cast<int>(type_w), "dtype",
                static_cast<int>(shape_w), "shape", "bytes", "offset");
  for (const auto& t : tensors)
    std::printf("  %-*s  %-*s  %-*s  %12llu  %llu%s\n", static_cast<int>(name_w), t.name.c_str(),
                static_cast<int>(type_w), to_string(t.type), static_cast<int>(shape_w), shape_text(t.shape).c_str(),
                static_cast<unsigned long long>(t.bytes), static_cast<unsigned long long>(t.offset),
                &t == f.token_embedding() ? "  <- token table" : "");
  if (const auto* tok = f.token_embedding())
    std::printf("\ntoken table: %s (%s, %llu rows x %llu values)\n", tok->name.c_str(), to_string(tok->type),
                static_cast<unsigned long long>(tok->shape[0]), static_cast<unsigned long long>(tok->shape[1]));
  else
    std::printf("\ntoken table: none found (GGUF: token_embd.weight; safetensors: exactly one 2-D wte.weight, "
                "*embed_tokens.weight or *word_embeddings.weight); name one with --tensor\n");
  const auto skipped = f.skipped();
  std::printf("\nskipped: %zu\n", skipped.size());
  for (const auto& why : skipped) std::printf("  %s\n", why.c_str());
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("inspect", "Show the tensors of a GGUF or safetensors file and its token table");
  cmd->footer(
      "The file is memory-mapped and only its header is read. A malformed file: exit status 2, one line on "
      "stderr naming what is wrong.");
  cmd->add_option("file", *path, "A GGUF (v2, v3) or safetensors file")->required();
  cmd->callback([path] { run_inspect(*path); });
}

}  // namespace embtab::tool
