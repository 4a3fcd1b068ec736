// The smallest complete use of embtab: build a table, look up ids, print the rows.
#include <embtab/embtab.hpp>

#include <cstdint>
#include <cstdio>
#include <vector>

int main() {
  // The 6 x 3 weights of the seed lesson (torch.manual_seed(123); torch.nn.Embedding(6, 3)).
  const std::vector<float> weights = {0.3374f,  -0.1778f, -0.1690f, 0.9178f,  1.5810f,  1.3010f,
                                      1.2753f,  -0.2010f, -0.1606f, -0.4015f, 0.9666f,  -1.1481f,
                                      -1.1589f, 0.3255f,  -0.6315f, -2.8400f, -0.7849f, -1.4096f};
  const auto t = embtab::table::from_f32(weights, 6, 3);
  const std::vector<std::int32_t> ids = {2, 3, 5, 1};
  std::vector<float> out(ids.size() * t.dim());
  if (const auto s = embtab::lookup(t, ids, out); !s.ok()) {
    std::fprintf(stderr, "lookup failed: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("embtab %s, ISA %.*s, table %zu x %zu, row stride %zu bytes\n", EMBTAB_VERSION_STRING,
              static_cast<int>(embtab::active_isa().size()), embtab::active_isa().data(), t.rows(),
              t.dim(), t.row_stride());
  for (std::size_t i = 0; i < ids.size(); ++i)
    std::printf("id %d: [%8.4f, %8.4f, %8.4f]\n", ids[i], out[i * 3], out[i * 3 + 1], out[i * 3 + 2]);

  const std::vector<std::int32_t> bad = {2, 6};
  const auto s = embtab::lookup(t, bad, std::span<float>(out).first(bad.size() * t.dim()));
  std::printf("ids [2, 6]: %s\n", s.message().c_str());
  return s.code() == embtab::errc::id_out_of_range ? 0 : 1;
}
