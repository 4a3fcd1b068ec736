// embtab/embtab.hpp: the only header users need.
//
// embtab turns token ids into embedding vectors on the CPU at memory speed:
//   auto t = embtab::table::from_f32(weights, vocab, dim);
//   std::vector<float> out(ids.size() * dim);
//   if (auto s = embtab::lookup(t, ids, out); !s.ok()) std::cerr << s.message() << '\n';
// or straight from a model file (GGUF, safetensors), memory-mapped:
//   auto file = embtab::model_file::open(path);
//   auto t = file.load(*file.token_embedding());
// PyTorch compatibility is a separate library and header: embtab/torch.hpp (embtab::torch_compat).
#pragma once

#include "embtab/dtype.hpp"
#include "embtab/isa.hpp"
#include "embtab/lookup.hpp"
#include "embtab/model_file.hpp"
#include "embtab/status.hpp"
#include "embtab/table.hpp"
#include "embtab/version.hpp"
