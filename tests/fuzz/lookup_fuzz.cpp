// libFuzzer harness for lookup(): a table of any dtype built from arbitrary stored bits (f32
// bits, f16/bf16 bits, packed int8 rows with any scale and bias), any ids (negative, huge,
// INT64 extremes, duplicates, int32 or int64), any out size and alignment, any thread count,
// on every ISA this CPU runs. Each call must either match tests/reference.hpp bit for bit
// (int8: NaN matches any NaN) and write nothing outside out, or fail with exactly the status
// the contract names and leave every byte of the buffer around and inside out unchanged.
#include <cinttypes>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../reference.hpp"
#include "embtab/embtab.hpp"
#include "fuzz_common.hpp"

namespace {

using embtab::dtype;
using embtab::errc;
using embtab::table;
using embtab::fuzz::consume_payload;
using embtab::fuzz::guarded_out;

// Upper bound on ids.size() * dim per call: 512 KiB of output, past the parallel threshold.
constexpr std::size_t max_out_floats = std::size_t{1} << 17;

struct subject {
  table t;
  std::vector<float> want;  // rows x dim: what each stored value must look up as
  bool nan_is_nan = false;  // int8: NaN payloads of scale * code + bias are not specified
};

std::size_t pick_dim(FuzzedDataProvider& in) {
  static constexpr std::size_t wide[] = {127, 128, 129, 255, 256, 257, 1000, 1023, 1024, 4097};
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0) return in.PickValueInArray(wide);
  return in.ConsumeIntegralInRange<std::size_t>(1, 70);
}

float load_f32(const std::uint8_t* p) {
  float x;
  std::memcpy(&x, p, 4);
  return x;
}

// Builds the table, or checks that a wrong element count is refused; nullopt then.
std::optional<subject> build(FuzzedDataProvider& in) {
  const auto type = static_cast<dtype>(in.ConsumeIntegralInRange<int>(0, 3));
  const std::size_t rows = in.ConsumeIntegralInRange<std::size_t>(1, 64);
  const std::size_t dim = pick_dim(in);
  // Now and then the caller passes one element too few or too many.
  const int count_error = in.ConsumeIntegralInRange<int>(0, 15) == 0 ? (in.ConsumeBool() ? 1 : -1) : 0;
  const std::size_t per_row = type == dtype::int8_rowwise ? dim + 8 : dim;
  const std::size_t elems = rows * per_row + static_cast<std::size_t>(count_error);
  const std::size_t bytes = elems * (type == dtype::f32 ? 4 : type == dtype::int8_rowwise ? 1 : 2);
  const std::vector<std::uint8_t> payload = consume_payload(in, bytes);

  subject s;
  s.want.resize(rows * dim);
  try {
    switch (type) {
      case dtype::f32: {
        std::vector<float> w(elems);
        if (bytes > 0) std::memcpy(w.data(), payload.data(), bytes);
        s.t = table::from_f32(w, rows, dim, dtype::f32);
        std::memcpy(s.want.data(), w.data(), s.want.size() * 4);
        break;
      }
      case dtype::f16:
      case dtype::bf16: {
        std::vector<std::uint16_t> bits(elems);
        if (bytes > 0) std::memcpy(bits.data(), payload.data(), bytes);
        s.t = type == dtype::f16 ? table::from_f16_bits(bits, rows, dim) : table::from_bf16_bits(bits, rows, dim);
        for (std::size_t i = 0; i < s.want.size(); ++i)
          s.want[i] = type == dtype::f16 ? embtab::ref::f16_to_f32(bits[i]) : embtab::ref::bf16_to_f32(bits[i]);
        break;
      }
      case dtype::int8_rowwise: {
        s.t = table::from_rowwise_int8(payload, rows, dim);
        s.nan_is_nan = true;
        for (std::size_t r = 0; r < rows; ++r) {
          const std::uint8_t* row = payload.data() + r * (dim + 8);
          const float scale = load_f32(row + dim), bias = load_f32(row + dim + 4);
          for (std::size_t j = 0; j < dim; ++j) s.want[r * dim + j] = embtab::ref::dequantize(row[j], scale, bias);
        }
        break;
      }
    }
  } catch (const std::invalid_argument& e) {
    FUZZ_CHECK(count_error != 0, "%zu x %zu %s refused: %s", rows, dim, embtab::to_string(type), e.what());
    FUZZ_CHECK(std::strncmp(e.what(), "embtab::table: ", 15) == 0, "message: %s", e.what());
    return std::nullopt;
  }
  FUZZ_CHECK(count_error == 0, "%zu elements accepted for %zu x %zu", elems, rows, dim);

  // The layout contract of table.hpp.
  const table& t = s.t;
  FUZZ_CHECK(t.rows() == rows && t.dim() == dim && t.type() == type, "shape");
  FUZZ_CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0, "data() not 64-byte aligned");
  const std::size_t used = dim * embtab::value_bytes(type) + (type == dtype::int8_rowwise ? 8 : 0);
  FUZZ_CHECK(t.row_stride() % 64 == 0 && t.row_stride() >= used && t.row_stride() < used + 64,
             "stride %zu for %zu bytes", t.row_stride(), used);
  FUZZ_CHECK(t.bytes() == rows * t.row_stride(), "bytes");
  for (std::size_t r = 0; r < rows; ++r) {
    const std::byte* row = t.data() + r * t.row_stride();
    const std::size_t payload_end = dim * embtab::value_bytes(type);
    const std::size_t pad_end = type == dtype::int8_rowwise ? t.row_stride() - 8 : t.row_stride();
    for (std::size_t b = payload_end; b < pad_end; ++b)
      FUZZ_CHECK(row[b] == std::byte{0}, "padding byte %zu of row %zu is not zero", b, r);
    if (type == dtype::int8_rowwise)
      FUZZ_CHECK(std::memcmp(row + pad_end, payload.data() + r * (dim + 8) + dim, 8) == 0,
                 "scale and bias of row %zu not kept as they are", r);
  }
  return s;
}

// An id that is in range, just out of it, or one of the values that break careless code.
std::int64_t pick_id(FuzzedDataProvider& in, std::size_t rows) {
  static constexpr std::int64_t special[] = {
      -1, -2, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(),
      std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max(),
      std::int64_t{1} << 31, std::int64_t{1} << 32, (std::int64_t{1} << 32) + 1,
      -(std::int64_t{1} << 32), std::int64_t{1} << 62, std::numeric_limits<std::int64_t>::min() + 1};
  const auto r = static_cast<std::int64_t>(rows);
  switch (in.ConsumeIntegralInRange<int>(0, 15)) {
    case 0: return in.PickValueInArray(special);
    case 1: return r + in.ConsumeIntegralInRange<std::int64_t>(0, 3);
    case 2: return in.ConsumeIntegral<std::int64_t>();
    case 3: return (std::int64_t{1} << 32) + in.ConsumeIntegralInRange<std::int64_t>(0, r - 1);  // aliases a row in 32 bits
    case 4: return r - 1;
    default: return in.ConsumeIntegralInRange<std::int64_t>(0, r - 1);
  }
}

template <class Id>
void check_call(const subject& s, const std::vector<std::int64_t>& ids64, std::size_t out_size,
                std::size_t offset, int threads, std::uint8_t pattern) {
  std::vector<Id> ids(ids64.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<Id>(ids64[i]);
  const table& t = s.t;
  const std::size_t dim = t.dim(), rows = t.rows(), need = ids.size() * dim;

  // The status the contract names, from first principles.
  errc want = errc::ok;
  std::string want_message = "ok";
  std::size_t want_position = 0;
  if (out_size != need) {
    want = errc::size_mismatch;
    want_message = "output holds " + std::to_string(out_size) + " floats but " + std::to_string(ids.size()) +
                   " ids x dim " + std::to_string(dim) + " need " + std::to_string(need);
  } else if (threads < 0) {
    want = errc::invalid_argument;
    want_message = "lookup_options::threads is " + std::to_string(threads) + ", expected >= 0";
  } else if (const auto bad = embtab::ref::first_bad_id(ids, rows)) {
    want = errc::id_out_of_range;
    want_position = *bad;
    want_message = "id " + std::to_string(ids[*bad]) + " at position " + std::to_string(*bad) +
                   " is out of range [0, " + std::to_string(rows) + ")";
  }

  for (const auto isa : embtab::supported_isas()) {
    FUZZ_CHECK(embtab::set_isa(isa), "set_isa(%.*s)", static_cast<int>(isa.size()), isa.data());
    guarded_out buffer(out_size, offset, pattern);
    const embtab::status st = embtab::lookup(t, std::span<const Id>(ids), buffer.out(), {.threads = threads});
    const std::string message = st.message();
    FUZZ_CHECK(st.code() == want && st.ok() == (want == errc::ok) && st.position() == want_position &&
                   message == want_message,
               "%.*s %s: got \"%s\" at %zu, want \"%s\" at %zu", static_cast<int>(isa.size()), isa.data(),
               embtab::to_string(t.type()), message.c_str(), st.position(), want_message.c_str(), want_position);
    if (want != errc::ok) {
      FUZZ_CHECK(buffer.untouched(), "%.*s wrote to out on error %s", static_cast<int>(isa.size()), isa.data(),
                 message.c_str());
      continue;
    }
    FUZZ_CHECK(buffer.guards_intact(), "%.*s wrote outside out", static_cast<int>(isa.size()), isa.data());
    const std::span<float> out = buffer.out();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const float* want_row = s.want.data() + static_cast<std::size_t>(ids[i]) * dim;
      if (std::memcmp(out.data() + i * dim, want_row, dim * sizeof(float)) == 0) continue;
      for (std::size_t j = 0; j < dim; ++j) {
        const float got = out[i * dim + j], w = s.want[static_cast<std::size_t>(ids[i]) * dim + j];
        FUZZ_CHECK(embtab::fuzz::same_value(got, w, s.nan_is_nan),
                   "%.*s %s %zu x %zu: id %" PRId64 " (position %zu) value %zu is 0x%08x, want 0x%08x",
                   static_cast<int>(isa.size()), isa.data(), embtab::to_string(t.type()), rows, dim,
                   static_cast<std::int64_t>(ids[i]), i, j, std::bit_cast<std::uint32_t>(got),
                   std::bit_cast<std::uint32_t>(w));
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  std::optional<subject> s;
  switch (in.ConsumeIntegralInRange<int>(0, 31)) {
    case 0: s.emplace(); break;  // a default-constructed table: rows() == dim() == 0
    case 1: {                    // a moved-from one
      s = build(in);
      if (!s) return 0;
      table keep = std::move(s->t);
      s->want.clear();
      break;
    }
    default: s = build(in); if (!s) return 0;
  }

  for (int call = 0; call < 4 && in.remaining_bytes() > 0; ++call) {
    const std::size_t rows = s->t.rows(), dim = s->t.dim();
    // A few ids, or a long list (a repeated pattern) that crosses the parallel threshold.
    std::vector<std::int64_t> ids(in.ConsumeIntegralInRange<std::size_t>(0, 24));
    for (auto& id : ids) id = pick_id(in, rows == 0 ? 1 : rows);
    if (in.ConsumeIntegralInRange<int>(0, 7) == 0 && !ids.empty() && dim > 0) {
      const std::size_t n = in.ConsumeIntegralInRange<std::size_t>(ids.size(), std::max(ids.size(), max_out_floats / dim));
      for (std::size_t i = ids.size(); i < n; ++i) ids.push_back(ids[i % (i / 2 + 1)]);
      if (in.ConsumeBool()) ids[in.ConsumeIntegralInRange<std::size_t>(0, n - 1)] = pick_id(in, rows == 0 ? 1 : rows);
    }
    const std::size_t need = ids.size() * dim;
    std::size_t out_size = need;
    switch (in.ConsumeIntegralInRange<int>(0, 11)) {
      case 0: out_size = need + 1; break;
      case 1: out_size = need > 0 ? need - 1 : 1; break;
      case 2: out_size = in.ConsumeIntegralInRange<std::size_t>(0, 2 * need + 2); break;
      case 3: out_size = need + dim; break;
      default: break;
    }
    static constexpr int odd_threads[] = {-1, std::numeric_limits<int>::min(), std::numeric_limits<int>::max(), 64, 1000};
    int threads = 0;
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
      case 0: threads = in.PickValueInArray(odd_threads); break;
      case 1: threads = in.ConsumeIntegral<int>(); break;
      default: threads = in.ConsumeIntegralInRange<int>(0, 3);
    }
    const std::size_t offset = in.ConsumeIntegralInRange<std::size_t>(0, 15);
    const auto pattern = in.ConsumeIntegral<std::uint8_t>();
    if (in.ConsumeBool())
      check_call<std::int32_t>(*s, ids, out_size, offset, threads, pattern);
    else
      check_call<std::int64_t>(*s, ids, out_size, offset, threads, pattern);
  }
  embtab::set_isa(embtab::supported_isas().front());
  return 0;
}
