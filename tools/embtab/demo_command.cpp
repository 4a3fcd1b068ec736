// `embtab demo`: the seed notebook (ch02 2.7, token embeddings) step by step, its tensors
// printed as PyTorch prints them, then the one-hot matmul it explains a lookup with, checked
// and timed against the lookup on a GPT-2-sized table. A few seconds.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <embtab/embtab.hpp>
#include <embtab/torch.hpp>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_core.hpp"
#include "commands.hpp"

namespace embtab::tool {
namespace {

namespace eb = embtab::bench;

void print_tensor(std::span<const float> values, std::size_t rows, std::size_t cols) {
  const std::size_t shape[] = {rows, cols};
  std::printf("%s\n", embtab::torch::format(values, shape).c_str());
}

std::vector<float> rows_of(const embtab::table& t, std::span<const std::int64_t> ids) {
  std::vector<float> out(ids.size() * t.dim());
  if (const auto s = embtab::lookup(t, ids, out); !s.ok()) throw std::logic_error(s.message());
  return out;
}

// "579 ns", "12.3 us", "99.07 ms".
std::string duration(double ns) {
  char buf[32];
  if (ns < 1e4)
    std::snprintf(buf, sizeof buf, "%.0f ns", ns);
  else if (ns < 1e6)
    std::snprintf(buf, sizeof buf, "%.1f us", ns / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.2f ms", ns / 1e6);
  return buf;
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

// Steps 1 to 4: the notebook's 6 x 3 example. Returns whether the matmul equalled the lookup.
bool notebook() {
  constexpr std::size_t vocab = 6, dim = 3;
  const auto t = embtab::torch::random_normal(vocab, dim, 123);
  std::vector<std::int64_t> all(vocab);
  std::iota(all.begin(), all.end(), 0);
  const std::vector<float> weights = rows_of(t, all);

  std::printf(
      "embtab demo: the seed notebook (ch02 2.7, token embeddings) step by step, in C++.\n"
      "Tensors are printed as PyTorch 1.13 prints them, minus the autograd decorations\n"
      "(Parameter containing:, requires_grad=True, grad_fn=<...>): a lookup table has no autograd.\n"
      "\n"
      "1. torch.manual_seed(123); embedding_layer = torch.nn.Embedding(6, 3)\n"
      "   embtab::torch::random_normal(6, 3, 123) draws PyTorch's weights, bit for bit:\n");
  print_tensor(weights, vocab, dim);

  const std::int64_t three[] = {3};
  std::printf(
      "\n"
      "2. embedding_layer(torch.tensor([3])): token id 3 becomes row 3 (the 4th) of the weights:\n");
  print_tensor(rows_of(t, three), 1, dim);

  const std::vector<std::int64_t> input_ids = {2, 3, 5, 1};
  const std::vector<float> looked = rows_of(t, input_ids);
  std::printf(
      "\n3. input_ids = torch.tensor([2, 3, 5, 1]); embedding_layer(input_ids): one row per id:\n");
  print_tensor(looked, input_ids.size(), dim);

  // The one-hot view, with plain loops: every multiply-add, zeros included.
  const std::size_t n = input_ids.size();
  std::vector<float> onehot(n * vocab, 0.0f), product(n * dim, 0.0f);
  for (std::size_t i = 0; i < n; ++i) onehot[i * vocab + static_cast<std::size_t>(input_ids[i])] = 1;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < vocab; ++k)
      for (std::size_t j = 0; j < dim; ++j)
        product[i * dim + j] += onehot[i * vocab + k] * weights[k * dim + j];
  const bool equal = same_bits(product, looked);
  std::printf(
      "\n4. A lookup is a one-hot matrix times the weights.\n"
      "   onehot = torch.nn.functional.one_hot(input_ids, 6).float(), 4 x 6:\n");
  print_tensor(onehot, n, vocab);
  std::printf("   onehot @ embedding_layer.weight, 4 x 6 times 6 x 3 (plain loops, all 72 "
              "multiply-adds):\n");
  print_tensor(product, n, dim);
  std::printf("   %s\n", equal ? "equal to the lookup of step 3, bit for bit (all 12 floats compared)"
                              : "NOT equal to the lookup of step 3: this is a bug");
  return equal;
}

// Step 5: the same equivalence on GPT-2's table, timed.
bool timing() {
  constexpr std::size_t rows = 50257, dim = 768, lookup_n = 1024;
  // A one-hot matmul of all 1024 ids takes seconds; its time per token does not depend on the
  // count once the matmul is compute-bound, so fewer ids are timed and the figures are per token.
  const bool blas = eb::have_blas();
  const std::size_t matmul_n = blas ? 64 : 4;
  const auto big = embtab::torch::random_normal(rows, dim, 123);
  eb::id_stream lookup_ids(rows, lookup_n, eb::ids_mode::cold, 0, 2);
  eb::id_stream matmul_ids(rows, matmul_n, eb::ids_mode::cold, 1, 2);
  std::vector<float> looked(lookup_n * dim), product(matmul_n * dim), onehot;
  const embtab::lookup_options one_thread{.threads = 1};
  const auto matmul = [&](std::span<const std::int32_t> ids) {
    if (blas)
      eb::onehot_blas(big, ids, onehot, product.data(), 1);
    else
      eb::onehot_naive(big, ids, onehot, product.data());
  };

  // Check first: the matmul of each id gives the lookup's row, bit for bit.
  matmul(matmul_ids.first());
  if (const auto s = embtab::lookup(big, matmul_ids.first(), std::span(looked).first(matmul_n * dim),
                                    one_thread);
      !s.ok())
    throw std::logic_error(s.message());
  const bool equal = same_bits(product, std::span(looked).first(matmul_n * dim));

  const eb::timed_op ops[] = {
      {[&] { (void)embtab::lookup(big, lookup_ids.next(), looked, one_thread); }},
      {[&] { matmul(matmul_ids.next()); }},
  };
  const auto ns = eb::measure_interleaved(ops, 0.02, 5);
  const double lookup_per_token = ns[0] / static_cast<double>(lookup_n);
  const double matmul_per_token = ns[1] / static_cast<double>(matmul_n);

  const std::string lookup_what = "lookup, " + std::to_string(lookup_n) + " ids:";
  const std::string matmul_what = std::string("one-hot matmul (") +
                                  (blas ? "BLAS sgemm" : "plain loops") + "), " +
                                  std::to_string(matmul_n) + " ids:";
  std::printf(
      "\n5. Why a lookup and not the matmul: GPT-2's table, 50257 x 768 fp32 (random_normal, "
      "seed 123),\n"
      "   random ids, 1 thread, median CPU time of 5 rounds:\n"
      "   %-38s %9s per call, %9s per token\n"
      "   %-38s %9s per call, %9s per token\n"
      "   The matmul does 50257 x 768 = 38.6 M multiply-adds per token and reads all 154 MB of\n"
      "   weights per call; the lookup copies one 3 KiB row per token.\n"
      "   The lookup is %.0fx faster per token; the matmul's %zu rows %s.\n",
      lookup_what.c_str(), duration(ns[0]).c_str(), duration(lookup_per_token).c_str(),
      matmul_what.c_str(), duration(ns[1]).c_str(), duration(matmul_per_token).c_str(),
      matmul_per_token / lookup_per_token, matmul_n,
      equal ? "equal the lookup's, bit for bit" : "DIFFER from the lookup's: this is a bug");
  return equal;
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "demo", "The seed notebook step by step: PyTorch's seeded weights, lookups, one-hot matmul");
  cmd->footer(
      "Reproduces torch.manual_seed(123); torch.nn.Embedding(6, 3) and its lookups digit for "
      "digit, shows that a lookup equals the one-hot matmul (checked bit for bit), then times both "
      "on a 50257 x 768 table. Exit status 1 if a check fails.");
  cmd->callback([] {
    const bool ok = notebook();
    if (!(timing() && ok)) throw CLI::RuntimeError(1);
  });
}

}  // namespace embtab::tool
