// A program outside embtab's tree: uses only the installed API, on every ISA path.
#include <embtab/embtab.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#define CHECK(cond)                                                \
  do {                                                             \
    if (!(cond)) {                                                 \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                    \
    }                                                              \
  } while (0)

int main() {
  const std::size_t rows = 50, dim = 17;
  std::vector<float> w(rows * dim);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i) * 0.25f - 3.0f;
  const embtab::table t = embtab::table::from_f32(w, rows, dim, embtab::dtype::f32);
  CHECK(t.row_stride() % 64 == 0 && reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
  for (const auto isa : embtab::supported_isas()) {
    CHECK(embtab::set_isa(isa));
    const std::vector<std::int32_t> ids = {49, 0, 7, 7};
    std::vector<float> out(ids.size() * dim);
    CHECK(embtab::lookup(t, ids, out).ok());
    for (std::size_t i = 0; i < ids.size(); ++i)
      CHECK(std::memcmp(&out[i * dim], &w[static_cast<std::size_t>(ids[i]) * dim], dim * 4) == 0);
    const std::vector<std::int64_t> bad = {1, 50};
    std::vector<float> untouched(bad.size() * dim, 42.0f);
    const embtab::status s = embtab::lookup(t, bad, untouched, {.threads = 2});
    CHECK(s.code() == embtab::errc::id_out_of_range && s.position() == 1);
    CHECK(s.message() == "id 50 at position 1 is out of range [0, 50)");
    for (const float x : untouched) CHECK(x == 42.0f);
    std::printf("%.*s ok\n", static_cast<int>(isa.size()), isa.data());
  }
  std::printf("consumer ok (embtab %s)\n", EMBTAB_VERSION_STRING);
  return 0;
}
