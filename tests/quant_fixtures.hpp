// Readers for the PyTorch fixtures written by tests/fixtures/gen_quant_fixtures.py
// (formats documented there). Read errors fail the calling test.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#ifndef EMBTAB_FIXTURE_DIR
#error "EMBTAB_FIXTURE_DIR must name the tests/fixtures folder"
#endif

namespace embtab::test {

inline const std::filesystem::path quant_dir = std::filesystem::path(EMBTAB_FIXTURE_DIR) / "quant";

// Sequential little-endian reader over a whole fixture file; read errors fail the test.
class fixture_reader {
 public:
  explicit fixture_reader(const std::filesystem::path& path) : path_(path.string()) {
    std::ifstream in(path, std::ios::binary);
    bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }

  bool magic(const char (&expected)[9]) {
    if (!take(8)) return false;
    ok_ = std::memcmp(bytes_.data() + pos_ - 8, expected, 8) == 0;
    return ok_;
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(le(2)); }
  std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
  template <class T>
  std::vector<T> array(std::size_t n) {
    std::vector<T> v(n);
    for (auto& x : v) x = static_cast<T>(le(sizeof(T)));
    return v;
  }
  bool at_end() const { return ok_ && pos_ == bytes_.size(); }

 private:
  bool take(std::size_t n) {
    if (!ok_ || bytes_.size() - pos_ < n) return ok_ = false;
    pos_ += n;
    return true;
  }
  std::uint64_t le(std::size_t n) {
    if (!take(n)) return 0;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i)
      v |= std::uint64_t{static_cast<unsigned char>(bytes_[pos_ - n + i])} << (8 * i);
    return v;
  }

  std::string path_;
  std::vector<char> bytes_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

struct convert_fixture {
  std::vector<std::uint32_t> f32;
  std::vector<std::uint16_t> f16, bf16;
  std::vector<std::uint16_t> w16_in, wbf_in;
  std::vector<std::uint32_t> w16_out, wbf_out;
};

inline convert_fixture load_convert() {
  fixture_reader in(quant_dir / "convert.bin");
  convert_fixture c;
  EXPECT_TRUE(in.magic("EMBTCVT1")) << in.path() << ": missing or not a convert fixture";
  const std::uint32_t n = in.u32(), k16 = in.u32(), kbf = in.u32();
  in.u32();
  c.f32 = in.array<std::uint32_t>(n);
  c.f16 = in.array<std::uint16_t>(n);
  c.bf16 = in.array<std::uint16_t>(n);
  c.w16_in = in.array<std::uint16_t>(k16);
  c.w16_out = in.array<std::uint32_t>(k16);
  c.wbf_in = in.array<std::uint16_t>(kbf);
  c.wbf_out = in.array<std::uint32_t>(kbf);
  EXPECT_TRUE(in.at_end()) << in.path() << ": truncated or trailing bytes";
  EXPECT_GT(n, 1000u);
  return c;
}

inline const convert_fixture& convert_data() {
  static const convert_fixture c = load_convert();
  return c;
}

struct int8_fixture {
  std::string name;
  std::uint32_t rows = 0, dim = 0;
  std::vector<std::uint32_t> weights;  // fp32 bits
  std::vector<std::uint8_t> packed;    // rows x (dim + 8)
  std::vector<std::uint32_t> out;      // fp32 bits
};

inline std::vector<int8_fixture> load_int8() {
  std::vector<std::filesystem::path> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(quant_dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.starts_with("int8_") && file.ends_with(".bin")) paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<int8_fixture> all;
  for (const auto& path : paths) {
    fixture_reader in(path);
    int8_fixture f;
    f.name = path.filename().string();
    EXPECT_TRUE(in.magic("EMBTQ8R1")) << in.path();
    f.rows = in.u32();
    f.dim = in.u32();
    const std::size_t n = std::size_t{f.rows} * f.dim;
    f.weights = in.array<std::uint32_t>(n);
    f.packed = in.array<std::uint8_t>(std::size_t{f.rows} * (f.dim + 8));
    f.out = in.array<std::uint32_t>(n);
    EXPECT_TRUE(in.at_end()) << in.path() << ": truncated or trailing bytes";
    if (in.at_end() && f.dim > 0) all.push_back(std::move(f));
  }
  return all;
}

inline const std::vector<int8_fixture>& int8_data() {
  static const std::vector<int8_fixture> all = load_int8();
  return all;
}

inline std::uint32_t le32_at(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

}  // namespace embtab::test
