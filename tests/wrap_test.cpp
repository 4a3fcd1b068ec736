// table::wrap (views of memory embtab does not own), table::copy, and the one row layout both
// kinds share: errors name their numbers and build nothing, the owner lives as long as the
// table, PyTorch's packed int8 rows are read in place.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "embtab/embtab.hpp"
#include "quant_fixtures.hpp"
#include "reference.hpp"
#include "test_helpers.hpp"

namespace {

using embtab::dtype;
using embtab::table;

using embtab::test::refusal;

std::vector<float> lookup_all(const table& t) {
  std::vector<std::int64_t> ids(t.rows());
  for (std::size_t r = 0; r < ids.size(); ++r) ids[r] = static_cast<std::int64_t>(r);
  std::vector<float> out(ids.size() * t.dim());
  const auto s = embtab::lookup(t, ids, out);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

TEST(Wrap, ViewsTheMemoryWithoutACopy) {
  const auto w = embtab::ref::random_weights(5, 7, 1);
  std::vector<std::byte> memory(3 + 5 * 28);
  std::memcpy(memory.data() + 3, w.data(), 5 * 28);
  const std::span<const std::byte> rows(memory.data() + 3, 5 * 28);
  const table t = table::wrap(rows, 5, 7, dtype::f32);
  EXPECT_FALSE(t.owns_memory());
  EXPECT_EQ(t.data(), rows.data());
  EXPECT_EQ(t.row_stride(), 28u);
  EXPECT_EQ(t.row_bytes(), 28u);
  EXPECT_EQ(t.bytes(), 5u * 28u);
  const auto out = lookup_all(t);
  EXPECT_EQ(std::memcmp(out.data(), w.data(), w.size() * 4), 0);
  // A strided view reads only its rows: the gaps may hold anything.
  std::vector<std::byte> strided(4 * 40 + 28, std::byte{0xFF});
  for (std::size_t r = 0; r < 5; ++r) std::memcpy(strided.data() + r * 40, w.data() + r * 7, 28);
  const table s = table::wrap(strided, 5, 7, dtype::f32, 40);
  EXPECT_EQ(s.row_stride(), 40u);
  EXPECT_EQ(s.bytes(), 4u * 40u + 28u);
  const auto out2 = lookup_all(s);
  EXPECT_EQ(std::memcmp(out2.data(), w.data(), w.size() * 4), 0);
}

TEST(Wrap, RefusesBadShapesNamingTheNumbers) {
  const std::vector<std::byte> memory(1000);
  EXPECT_EQ(refusal([&] { (void)table::wrap(memory, 5, 7, dtype::f32, 27); }),
            "embtab::table: row_stride 27 is less than the 28 bytes of a row of 7 f32 values");
  EXPECT_EQ(refusal([&] { (void)table::wrap(std::span(memory).first(139), 5, 7, dtype::f32); }),
            "embtab::table: memory holds 139 bytes, but 5 rows of 28 bytes with a stride of 28 need 140");
  EXPECT_EQ(refusal([&] { (void)table::wrap(std::span(memory).first(327), 5, 7, dtype::int8_rowwise, 80); }),
            "embtab::table: memory holds 327 bytes, but 5 rows of 15 bytes with a stride of 80 need 335");
  EXPECT_EQ(refusal([&] { (void)table::wrap(memory, 0, 7, dtype::f32); }),
            "embtab::table: rows and dim must be positive, got 0 x 7");
  EXPECT_EQ(refusal([&] { (void)table::wrap(memory, 5, 0, dtype::f32); }),
            "embtab::table: rows and dim must be positive, got 5 x 0");
  EXPECT_EQ(refusal([&] { (void)table::wrap({}, 1, 1, dtype::f16); }),
            "embtab::table: memory holds 0 bytes, but 1 rows of 2 bytes with a stride of 2 need 2");
  const std::size_t huge = std::numeric_limits<std::size_t>::max() / 4;
  EXPECT_EQ(refusal([&] { (void)table::wrap(memory, huge, 7, dtype::f32, 64); }),
            "embtab::table: " + std::to_string(huge) + " x 7 rows of stride 64 bytes overflow size_t");
  // Exactly enough bytes is enough: the last row needs no padding after it.
  EXPECT_NO_THROW((void)table::wrap(std::span(memory).first(335), 5, 7, dtype::int8_rowwise, 80));
}

TEST(Wrap, KeepsTheOwnerAliveAsLongAsTheTable) {
  auto flag = std::make_shared<bool>(false);
  struct guard {
    explicit guard(std::shared_ptr<bool> f) : freed(std::move(f)) {}
    guard(const guard&) = delete;
    ~guard() { *freed = true; }
    std::shared_ptr<bool> freed;
    std::vector<float> values = std::vector<float>(12, 2.5f);
  };
  table kept;
  {
    auto owner = std::make_shared<guard>(flag);
    const auto bytes = std::as_bytes(std::span<const float>(owner->values));
    table t = table::wrap(bytes, 3, 4, dtype::f32, 0, owner);
    owner.reset();
    EXPECT_FALSE(*flag);
    kept = std::move(t);
  }
  EXPECT_FALSE(*flag);
  EXPECT_EQ(lookup_all(kept), std::vector<float>(12, 2.5f));
  kept = table();
  EXPECT_TRUE(*flag);
}

TEST(Wrap, AnOwningTablesOwnMemoryReadsTheSameValues) {
  for (const dtype type : embtab::all_dtypes()) {
    // 33 values, or 3 blocks; from the fp32 weights, or (q4_k, q6_k) from random blocks.
    const std::size_t block = embtab::info(type).block_values, dim = block == 1 ? 33 : 3 * block;
    const auto w = embtab::ref::random_weights(9, dim, 4);
    std::vector<std::uint8_t> blocks(9 * embtab::row_bytes(type, dim));
    std::mt19937 gen(4);
    for (std::size_t r = 0; r < 9; ++r)
      ASSERT_TRUE(embtab::ref::random_row(type, dim, gen, r, blocks.data() + r * blocks.size() / 9));
    const table owning = embtab::has_f32_encoder(type)
                             ? table::from_f32(w, 9, dim, type)
                             : table::from_blocks(std::as_bytes(std::span(blocks)), 9, dim, type);
    EXPECT_TRUE(owning.owns_memory());
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(owning.data()) % 64, 0u);
    EXPECT_EQ(owning.row_stride() % 64, 0u);
    EXPECT_EQ(owning.row_stride(), table::owning_stride(9, dim, type));
    const table view = table::wrap({owning.data(), owning.bytes()}, 9, dim, type, owning.row_stride());
    const auto from_view = lookup_all(view), from_owning = lookup_all(owning);  // bits: NaN too
    EXPECT_EQ(std::memcmp(from_view.data(), from_owning.data(), from_view.size() * 4), 0)
        << embtab::to_string(type);
    const table copy = view.copy();
    EXPECT_TRUE(copy.owns_memory());
    EXPECT_NE(copy.data(), owning.data());
    EXPECT_EQ(std::memcmp(copy.data(), owning.data(), owning.bytes()), 0) << "padding is zero too";
  }
  EXPECT_EQ(table().copy().rows(), 0u);
}

TEST(OwningTables, TwoMiBAndLargerStartOnAHugePageBoundary) {
  const std::vector<float> w(1024 * 512, 0.25f);  // 2 MiB of rows
  const table big = table::from_f32(w, 1024, 512);
  EXPECT_EQ(big.bytes(), std::size_t{2} << 20);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(big.data()) % (std::size_t{2} << 20), 0u);
  EXPECT_EQ(lookup_all(big), w);
  const table small = table::from_f32(std::vector<float>(3 * 5, 1.0f), 3, 5);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(small.data()) % 64, 0u);
}

// The int8_rowwise layout is PyTorch's: embedding_bag_byte_prepack's output wraps without a
// copy and looks up as embedding_bag_byte_rowwise_offsets does.
TEST(Wrap, PyTorchPackedInt8RowsWrapInPlace) {
  const auto& all = embtab::test::int8_data();
  ASSERT_GE(all.size(), 10u);
  for (const auto& f : all) {
    // At an odd address, as in a file.
    std::vector<std::uint8_t> odd(f.packed.size() + 1);
    std::memcpy(odd.data() + 1, f.packed.data(), f.packed.size());
    const table t = table::wrap(std::as_bytes(std::span(odd).subspan(1)), f.rows, f.dim, dtype::int8_rowwise);
    const auto out = lookup_all(t);
    for (std::size_t i = 0; i < out.size(); ++i) {
      const float want = std::bit_cast<float>(f.out[i]);
      ASSERT_TRUE(std::bit_cast<std::uint32_t>(out[i]) == f.out[i] || (std::isnan(out[i]) && std::isnan(want)))
          << f.name << " value " << i;
    }
    // from_rowwise_int8 stores the same bytes, row for row.
    const table owning = table::from_rowwise_int8(f.packed, f.rows, f.dim);
    for (std::size_t r = 0; r < f.rows; ++r)
      ASSERT_EQ(std::memcmp(owning.data() + r * owning.row_stride(), f.packed.data() + r * (f.dim + 8), f.dim + 8), 0)
          << f.name << " row " << r;
  }
}

}  // namespace
