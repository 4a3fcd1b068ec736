#include "model_args.hpp"

#include "tool_errors.hpp"

namespace embtab::tool {

model_file open_model(const std::string& command, const std::string& path) {
  try {
    return model_file::open(path);
  } catch (const file_error& e) {
    fail(command, e.what());
  }
}

const tensor_info& pick_tensor(const std::string& command, const model_file& file, const std::string& name) {
  const std::string path = file.path().string();
  if (name.empty()) {
    if (const tensor_info* t = file.token_embedding()) return *t;
    fail(command, path + ": no token table found (GGUF: token_embd.weight; safetensors: exactly one 2-D "
                         "wte.weight, *embed_tokens.weight or *word_embeddings.weight); name one with --tensor "
                         "(embtab inspect lists them)");
  }
  if (const tensor_info* t = file.find(name)) return *t;
  if (const std::string_view why = file.skip_reason(name); !why.empty())
    fail(command, path + ": tensor '" + name + "' cannot be read: " + std::string(why));
  fail(command, path + ": no tensor named '" + name + "' (embtab inspect lists them)");
}

}  // namespace embtab::tool
