// `embtab lookup`: torch.manual_seed(S); emb = torch.nn.Embedding(V, D); print(emb(ids)), in
// C++: the table is embtab::torch::random_normal(V, D, S, dtype) and the rows are printed as PyTorch
// prints them. With --model FILE the table is a GGUF or safetensors file's own (memory-mapped).
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <embtab/embtab.hpp>
#include <embtab/torch.hpp>
#include <vector>

#include "commands.hpp"
#include "model_args.hpp"
#include "tool_errors.hpp"

namespace embtab::tool {
namespace {

struct lookup_options {
  std::size_t vocab = 0;
  std::size_t dim = 0;
  std::uint64_t seed = 123;
  std::string dtype = "f32";
  std::string ids;
  std::string model;   // --model FILE: the file's table instead of random_normal's
  std::string tensor;  // --tensor NAME: that tensor instead of the file's token table
  std::string out_dtype = "f32";
  float scale = 1.0f;
};

[[noreturn]] void fail(const std::string& what) { embtab::tool::fail("lookup", what); }

// --dtype's choices: every registered dtype that can be made from fp32 weights (the table is
// PyTorch's fp32 initialisation, converted).
std::vector<std::string> dtype_names() {
  std::vector<std::string> names;
  for (const embtab::dtype type : embtab::all_dtypes())
    if (embtab::has_f32_encoder(type)) names.emplace_back(embtab::info(type).name);
  return names;
}

// Checks --dtype: one of dtype_names(); a registered dtype that only comes from a model
// file's blocks (q4_k, q6_k) is named as such rather than as an unknown name.
const CLI::Validator dtype_choice(
    [](std::string& s) -> std::string {
      const auto names = dtype_names();
      if (std::find(names.begin(), names.end(), s) != names.end()) return {};
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ",") + n;
      if (embtab::dtype_from_name(s))
        return s + " tables come only from a model file's blocks, not from fp32 weights; "
                   "expected one of {" + list + "}";
      return s + " not in {" + list + "}";
    },
    "DTYPE");

// "2,3,5,1" or "2, 3, 5, 1": int64 ids; an empty list is no ids.
std::vector<std::int64_t> parse_ids(const std::string& text) {
  std::vector<std::int64_t> ids;
  if (text.find_first_not_of(" \t") == std::string::npos) return ids;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = std::min(text.find(',', begin), text.size());
    std::string token = text.substr(begin, end - begin);
    token.erase(0, token.find_first_not_of(" \t"));
    token.erase(token.find_last_not_of(" \t") + 1);
    std::int64_t id = 0;
    const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), id);
    if (token.empty() || ec != std::errc() || ptr != token.data() + token.size())
      fail("--ids: '" + token + "' at position " + std::to_string(ids.size()) +
           (ec == std::errc::result_out_of_range ? " is outside the int64 range"
                                                 : " is not an integer") +
           " (expected ids like 2,3,5,1)");
    ids.push_back(id);
    if (end == text.size()) return ids;
    begin = end + 1;
  }
}

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

// random_normal holds the fp32 weights and the table at once: refuse up front what cannot fit
// in physical memory (with overcommit the allocation could succeed and the fill be killed).
void check_memory(std::size_t vocab, std::size_t dim, embtab::dtype type) {
  const std::string shape =
      std::to_string(vocab) + " x " + std::to_string(dim) + " " + embtab::to_string(type);
  if (const std::size_t block = embtab::info(type).block_values; dim % block != 0)
    fail("--dim " + std::to_string(dim) + " is not a multiple of " + embtab::to_string(type) + "'s " +
         std::to_string(block) + " values per block");
  std::size_t values = 0, weights = 0, need = 0, stride = 0;
  try {
    stride = embtab::table::owning_stride(vocab, dim, type);
  } catch (const std::invalid_argument&) {
    fail("a " + shape + " table is too large: its size overflows 64 bits");
  }
  const std::size_t table = vocab * stride;  // owning_stride checked it
  if (__builtin_mul_overflow(vocab, dim, &values) ||
      __builtin_mul_overflow(values, sizeof(float), &weights) ||
      __builtin_add_overflow(weights, table, &need))
    fail("a " + shape + " table is too large: its size overflows 64 bits");
  const double phys = static_cast<double>(sysconf(_SC_PHYS_PAGES)) *
                      static_cast<double>(sysconf(_SC_PAGESIZE));
  if (phys > 0 && static_cast<double>(need) > phys)
    fail("a " + shape + " table needs " + gib(static_cast<double>(need)) +
         " (fp32 weights and the table), more than the " + gib(phys) + " of memory here");
}

// Looks ids up in the rows of `t` and prints them as PyTorch prints a tensor.
// Looks ids up with --out-dtype and --scale and prints the rows as PyTorch prints them: f16 /
// bf16 outputs are the values the API returns, widened exactly for printing, with the dtype
// PyTorch names in its print.
void print_lookup(const embtab::table& t, const std::vector<std::int64_t>& ids, const lookup_options& opt) {
  const embtab::lookup_options options{.scale = opt.scale};
  const std::size_t n = ids.size() * t.dim();
  std::vector<float> out(n);
  std::string suffix;
  const auto widen = [&](const auto& half, auto bits_to_float) {
    for (std::size_t k = 0; k < n; ++k) out[k] = bits_to_float(half[k].bits);
  };
  if (opt.out_dtype == "f16") {
    std::vector<embtab::f16> half(n);
    if (const auto s = embtab::lookup(t, ids, half, options); !s.ok()) fail(s.message());
    widen(half, [](std::uint16_t h) {  // exact: (-1)^s 2^(e-25) (1024 + m), subnormals 2^-24 m
      const int e = (h >> 10) & 31, m = h & 1023;
      const float sign = (h & 0x8000) ? -1.0f : 1.0f;
      if (e == 31) return m == 0 ? sign * INFINITY : std::copysign(NAN, sign);
      return sign * (e == 0 ? std::ldexp(static_cast<float>(m), -24)
                            : std::ldexp(static_cast<float>(1024 + m), e - 25));
    });
    suffix = ", dtype=torch.float16";
  } else if (opt.out_dtype == "bf16") {
    std::vector<embtab::bf16> half(n);
    if (const auto s = embtab::lookup(t, ids, half, options); !s.ok()) fail(s.message());
    widen(half, [](std::uint16_t b) { return std::bit_cast<float>(std::uint32_t{b} << 16); });
    suffix = ", dtype=torch.bfloat16";
  } else if (const auto s = embtab::lookup(t, ids, out, options); !s.ok()) {
    fail(s.message());
  }
  const std::size_t shape[] = {ids.size(), t.dim()};
  std::string text = embtab::torch::format(out, shape);
  if (!suffix.empty()) text.insert(text.size() - 1, suffix);
  std::printf("%s\n", text.c_str());
}

void run_model_lookup(const lookup_options& opt) {
  const std::vector<std::int64_t> ids = parse_ids(opt.ids);
  const embtab::model_file file = open_model("lookup", opt.model);
  const embtab::tensor_info& tensor = pick_tensor("lookup", file, opt.tensor);
  embtab::table t;
  try {
    t = file.load(tensor);  // a view of the mapping: only the rows looked up are read
  } catch (const embtab::file_error& e) {
    fail(e.what());
  }
  print_lookup(t, ids, opt);
}

void run_lookup(const lookup_options& opt) {
  if (!opt.model.empty()) return run_model_lookup(opt);
  if (opt.vocab == 0) fail("--vocab is required (or --model FILE)");
  if (opt.dim == 0) fail("--dim is required (or --model FILE)");
  const embtab::dtype type = *embtab::dtype_from_name(opt.dtype);  // --dtype checked it
  const std::vector<std::int64_t> ids = parse_ids(opt.ids);
  // The library's own message, before a large table is built for nothing.
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || static_cast<std::uint64_t>(ids[i]) >= opt.vocab)
      fail(embtab::status::id_out_of_range(ids[i], i, opt.vocab).message());
  check_memory(opt.vocab, opt.dim, type);

  embtab::table t;
  try {
    t = embtab::torch::random_normal(opt.vocab, opt.dim, opt.seed, type);
  } catch (const std::bad_alloc&) {
    fail("cannot allocate a " + std::to_string(opt.vocab) + " x " + std::to_string(opt.dim) +
         " table");
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }
  print_lookup(t, ids, opt);
}

// A positive integer that fits size_t: "0", "-3", "1e3" and "abc" are refused (CLI11 alone
// would wrap "-3" around to 2^64 - 3).
const CLI::Validator positive_count(
    [](std::string& s) -> std::string {
      std::size_t v = 0;
      const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || ptr != s.data() + s.size() || v == 0)
        return "'" + s + "' is not a positive integer";
      return {};
    },
    "POSITIVE");

// What torch.manual_seed accepts: an integer in [-2^63, 2^64); a negative one is taken modulo
// 2^64 (as torch does, and as CLI11's conversion then does). Without this check CLI11 would
// clamp 2^64 and above to 2^64 - 1.
const CLI::Validator torch_seed(
    [](std::string& s) -> std::string {
      const char* end = s.data() + s.size();
      std::uint64_t u = 0;
      std::int64_t i = 0;
      if (const auto r = std::from_chars(s.data(), end, u); r.ec == std::errc() && r.ptr == end)
        return {};
      if (const auto r = std::from_chars(s.data(), end, i); r.ec == std::errc() && r.ptr == end)
        return {};
      return "'" + s + "' is not an integer in [-2^63, 2^64)";
    },
    "SEED");

}  // namespace

void add_lookup_command(CLI::App& app) {
  auto opt = std::make_shared<lookup_options>();
  auto* cmd = app.add_subcommand(
      "lookup", "Look ids up in PyTorch's seeded nn.Embedding(V, D) and print them as PyTorch does");
  cmd->footer(
      "Prints what  torch.manual_seed(S); emb = torch.nn.Embedding(V, D); print(emb(ids))  prints "
      "(without grad_fn), digit for digit. For f16, bf16 and int8_rowwise the table is stored in that type "
      "(converted as PyTorch's .half(), .bfloat16() and embedding_bag_byte_prepack do), for q8_0 "
      "and q4_0 as gguf's quantizer stores it (--dim a multiple of 32), and the printed values are "
      "the fp32 rows a lookup returns; q4_k and q6_k come only from a model file's blocks. "
      "--model FILE looks up in a GGUF or safetensors file's token table (or --tensor NAME), in its "
      "stored dtype, memory-mapped. A bad id, argument or file: exit status 2, one line on stderr, "
      "nothing on stdout.");
  auto* vocab = cmd->add_option("--vocab", opt->vocab, "Rows of the table (vocabulary size V); required without --model")
                    ->check(positive_count);
  auto* dim = cmd->add_option("--dim", opt->dim, "Values per row (embedding dimension D); required without --model")
                  ->check(positive_count);
  auto* seed = cmd->add_option("--seed", opt->seed,
                               "torch.manual_seed value (a negative one wraps modulo 2^64, as in torch)")
                   ->check(torch_seed)
                   ->capture_default_str();
  auto* dtype = cmd->add_option("--dtype", opt->dtype, "How the table stores its values")
                    ->check(dtype_choice)
                    ->capture_default_str();
  auto* model = cmd->add_option("--model", opt->model, "A GGUF or safetensors file: look up in its token table")
                    ->excludes(vocab)
                    ->excludes(dim)
                    ->excludes(seed)
                    ->excludes(dtype);
  cmd->add_option("--tensor", opt->tensor, "With --model: the 2-D tensor to look up in (default: the token table)")
      ->needs(model);
  cmd->add_option("--out-dtype", opt->out_dtype,
                  "Output type of the lookup: f32, f16 or bf16 (rounded to nearest even, as "
                  "PyTorch's .half() / .bfloat16())")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--scale", opt->scale, "Multiply every value by this (in fp32) before rounding")
      ->capture_default_str();
  cmd->add_option("--ids", opt->ids, "Token ids, comma-separated (spaces allowed): 2,3,5,1")
      ->required();
  cmd->callback([opt] { run_lookup(*opt); });
}

}  // namespace embtab::tool
