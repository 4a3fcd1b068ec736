// libFuzzer harness for lookup(): a table of any registered dtype over arbitrary stored bytes
// (a view at any offset and stride, or an owning copy), any ids (negative, huge, INT64
// extremes, duplicates, int32 or int64), any out size and alignment, any thread count, on
// every ISA this CPU runs, serially, on embtab's own threads or through a parallel_for hook
// (tasks in reverse order), unsharded or as one vocab shard of a larger table (or a wrong
// shard), into fp32, f16 or bf16 output with any row stride, scale, position rows (the table
// itself, by start or by ids, in range or not) and streaming stores. Each call must either match tests/reference.hpp bit for bit
// (int8: NaN matches any NaN) and write nothing outside out, or fail with exactly the status
// the contract names and leave every byte of the buffer around and inside out unchanged.
// Every call is made twice: through the C++ API and through the C API (embtab_lookup_ex over
// embtab_table_wrap of the same rows, with the same options), which must return the same code,
// position and (truncated) message and leave the same bytes in an identical buffer.
#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../reference.hpp"
#include "embtab/embtab.h"
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
  std::unique_ptr<std::uint8_t[]> memory;  // a view's rows: exactly the bytes it may read
  std::vector<std::uint8_t> stored;        // the stored rows, row r at r * stored_stride
  std::size_t stored_stride = 0;
};

std::size_t pick_dim(FuzzedDataProvider& in, std::size_t block) {
  static constexpr std::size_t wide[] = {127, 128, 129, 255, 256, 257, 1000, 1023, 1024, 4097};
  if (block > 1) return block * in.ConsumeIntegralInRange<std::size_t>(1, 17);
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0) return in.PickValueInArray(wide);
  return in.ConsumeIntegralInRange<std::size_t>(1, 70);
}

// A table of any registered dtype over arbitrary stored bytes: a view (table::wrap) at any
// offset and stride, in a heap block of exactly the bytes it may read (ASan catches a read
// past them), or an owning copy of one. Now and then the caller passes a byte too few, which
// must be refused; nullopt then.
std::optional<subject> build(FuzzedDataProvider& in) {
  const auto types = embtab::all_dtypes();
  const dtype type = types[in.ConsumeIntegralInRange<std::size_t>(0, types.size() - 1)];
  const std::size_t rows = in.ConsumeIntegralInRange<std::size_t>(1, 64);
  const std::size_t dim = pick_dim(in, embtab::info(type).block_values);
  const auto rb = embtab::ref::stored_row_bytes(type, dim);
  FUZZ_CHECK(rb.has_value(), "tests/reference.hpp has no reference for %s", embtab::to_string(type));
  const std::size_t stride = *rb + (in.ConsumeBool() ? 0 : in.ConsumeIntegralInRange<std::size_t>(0, 70));
  const std::size_t offset = in.ConsumeIntegralInRange<std::size_t>(0, 63);
  const bool short_by_one = in.ConsumeIntegralInRange<int>(0, 15) == 0;
  const bool owning = in.ConsumeBool();
  const std::size_t span_bytes = (rows - 1) * stride + *rb - (short_by_one ? 1 : 0);
  const std::vector<std::uint8_t> payload = consume_payload(in, span_bytes);

  subject s;
  s.memory.reset(new std::uint8_t[offset + span_bytes + 1]);  // never empty
  std::memcpy(s.memory.get() + offset, payload.data(), span_bytes);
  const std::span<const std::byte> memory(reinterpret_cast<const std::byte*>(s.memory.get()) + offset, span_bytes);
  try {
    s.t = table::wrap(memory, rows, dim, type, stride == *rb && in.ConsumeBool() ? 0 : stride);
  } catch (const std::invalid_argument& e) {
    FUZZ_CHECK(short_by_one, "%zu x %zu %s (stride %zu) refused: %s", rows, dim, embtab::to_string(type), stride,
               e.what());
    FUZZ_CHECK(std::strncmp(e.what(), "embtab::table: memory holds ", 28) == 0, "message: %s", e.what());
    return std::nullopt;
  }
  FUZZ_CHECK(!short_by_one, "%zu bytes accepted for %zu x %zu %s, stride %zu", span_bytes, rows, dim,
             embtab::to_string(type), stride);
  FUZZ_CHECK(!s.t.owns_memory() && s.t.data() == memory.data() && s.t.row_stride() == stride &&
                 s.t.row_bytes() == *rb && s.t.bytes() == span_bytes,
             "view layout");
  s.nan_is_nan = !embtab::ref::nan_payloads_exact(type);
  s.stored = payload;
  s.stored_stride = stride;
  s.want.reserve(rows * dim);
  for (std::size_t r = 0; r < rows; ++r) {
    const auto v = embtab::ref::decode_row(type, payload.data() + r * stride, dim);
    FUZZ_CHECK(v.has_value(), "no reference decoder for %s", embtab::to_string(type));
    s.want.insert(s.want.end(), v->begin(), v->end());
  }
  if (!owning) return s;

  // An owning copy: the layout contract of table.hpp, then the view's memory is freed.
  table copy = s.t.copy();
  FUZZ_CHECK(copy.rows() == rows && copy.dim() == dim && copy.type() == type && copy.owns_memory(), "shape");
  FUZZ_CHECK(reinterpret_cast<std::uintptr_t>(copy.data()) % 64 == 0, "data() not 64-byte aligned");
  FUZZ_CHECK(copy.row_stride() == table::owning_stride(rows, dim, type) && copy.row_stride() % 64 == 0 &&
                 copy.row_stride() >= *rb && copy.row_stride() < *rb + 64,
             "stride %zu for %zu bytes", copy.row_stride(), *rb);
  FUZZ_CHECK(copy.bytes() == rows * copy.row_stride(), "bytes");
  for (std::size_t r = 0; r < rows; ++r) {
    const std::byte* row = copy.data() + r * copy.row_stride();
    FUZZ_CHECK(std::memcmp(row, payload.data() + r * stride, *rb) == 0, "row %zu not copied as it is", r);
    for (std::size_t b = *rb; b < copy.row_stride(); ++b)
      FUZZ_CHECK(row[b] == std::byte{0}, "padding byte %zu of row %zu is not zero", b, r);
  }
  s.t = std::move(copy);
  s.memory.reset();
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

// A caller's pool that runs every task on the calling thread, last first, and counts them.
struct reverse_pool {
  std::size_t calls = 0, tasks = 0;
  static void run(void* context, std::size_t tasks, void (*task)(void*, std::size_t), void* task_context) {
    auto& p = *static_cast<reverse_pool*>(context);
    ++p.calls;
    p.tasks = tasks;
    for (std::size_t i = tasks; i-- > 0;) task(task_context, i);
  }
};

// The options of one call beyond ids and threads (lookup.hpp's epilogue: output type, row
// stride, scale, position rows, streaming).
enum class out_kind { f32, f16, bf16 };
struct epilogue_draw {
  out_kind out = out_kind::f32;
  std::size_t stride = 0;        // lookup_options::out_row_stride
  float scale = 1.0f;
  int positions = 0;             // 0: none, 1: position_start, 2: position_ids (the table itself)
  std::int64_t position_start = 0;
  std::vector<std::int64_t> position_ids;
  bool streaming = false;
};

// Out of line, so that the reference multiplies and adds exactly as written (no contraction,
// no if-conversion of `scale != 1`).
[[gnu::noinline]] float multiply(float a, float b) { return a * b; }
[[gnu::noinline]] float add(float a, float b) { return a + b; }

// Output bits of a value; whether two output values agree (a NaN may be any NaN where the
// contract leaves its payload or sign open).
std::uint32_t out_bits(float v, out_kind o) {
  return o == out_kind::f32 ? std::bit_cast<std::uint32_t>(v) : o == out_kind::f16 ? embtab::ref::f32_to_f16(v) : embtab::ref::f32_to_bf16(v);
}
bool same_out(std::uint32_t got, std::uint32_t want, out_kind o, bool any_nan) {
  if (got == want) return true;
  if (!any_nan) return false;
  if (o == out_kind::f32) return std::isnan(std::bit_cast<float>(got)) && std::isnan(std::bit_cast<float>(want));
  if (o == out_kind::f16) return (got & 0x7FFF) == 0x7E00 && (want & 0x7FFF) == 0x7E00;
  return false;
}

struct c_table_deleter {
  void operator()(embtab_table* t) const { embtab_table_free(t); }
};

// The C API's embtab_lookup_ex with the options of one C++ call: the same code, position and
// message (truncated to 255 bytes; empty on success), and the same bytes in a buffer of the
// same pattern.
template <class Id, class Out>
void check_c_call(const embtab_table* ct, std::span<const Id> ids, const embtab::status& st,
                  guarded_out<Out>& cpp_buffer, std::size_t out_size, std::size_t offset,
                  std::uint8_t pattern, bool hook, const reverse_pool& cpp_pool, const embtab::lookup_options& o,
                  out_kind out, int positions, std::string_view isa) {
  guarded_out<Out> buffer(out_size, offset, pattern);
  reverse_pool pool;
  embtab_lookup_options co = embtab_lookup_options_default();
  co.threads = o.threads;
  co.out_dtype = static_cast<int>(out);  // f32, f16, bf16: the dtype values 0, 1, 2
  co.out_row_stride = o.out_row_stride;
  co.scale = o.scale;
  co.positions = positions != 0 ? ct : nullptr;
  co.position_start = o.position_start;
  co.position_ids = o.position_ids.data();
  co.position_ids_len = o.position_ids.size();
  co.streaming_stores = o.streaming_stores ? 1 : 0;
  if (hook) {
    co.parallel_run = &reverse_pool::run;
    co.parallel_context = &pool;
  }
  co.shard_begin = o.shard.begin;
  co.shard_end = o.shard.end;
  co.shard_vocab = o.shard.vocab;
  embtab_error error;
  const embtab_errc code = embtab_lookup_ex(ct, ids.data(), static_cast<int>(sizeof(Id) * 8), ids.size(), buffer.out().data(),
                                            out_size, &co, &error);
  const std::string message = st.message();
  FUZZ_CHECK(static_cast<int>(code) == static_cast<int>(st.code()) && error.code == code &&
                 error.position == st.position() &&
                 (st.ok() ? error.message[0] == '\0' : message.compare(0, 255, error.message) == 0),
             "%.*s C API: %d at %zu \"%s\", C++: %s at %zu \"%s\"", static_cast<int>(isa.size()), isa.data(),
             static_cast<int>(code), error.position, error.message, embtab::to_string(st.code()), st.position(),
             message.c_str());
  FUZZ_CHECK(pool.calls == cpp_pool.calls && pool.tasks == cpp_pool.tasks, "C API hook: %zu calls of %zu tasks, C++ %zu of %zu",
             pool.calls, pool.tasks, cpp_pool.calls, cpp_pool.tasks);
  if (!st.ok()) {
    FUZZ_CHECK(buffer.untouched(), "%.*s C API wrote to out on error", static_cast<int>(isa.size()), isa.data());
    return;
  }
  FUZZ_CHECK(buffer.guards_intact(), "%.*s C API wrote outside out", static_cast<int>(isa.size()), isa.data());
  FUZZ_CHECK(out_size == 0 || std::memcmp(buffer.out().data(), cpp_buffer.out().data(), out_size * sizeof(Out)) == 0,
             "%.*s C API output differs from the C++ API's", static_cast<int>(isa.size()), isa.data());
}

template <class Id, class Out>
void check_call(const subject& s, const std::vector<std::int64_t>& ids64, std::size_t out_size,
                std::size_t offset, int threads, std::uint8_t pattern, bool hook, embtab::vocab_shard shard,
                const epilogue_draw& e) {
  std::vector<Id> ids(ids64.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<Id>(ids64[i]);
  const table& t = s.t;
  const std::size_t dim = t.dim(), rows = t.rows(), n = ids.size(), need = n * dim;
  const std::size_t stride = e.stride == 0 ? dim : e.stride;
  const bool sharded = shard.vocab != 0;
  const bool bad_shard = sharded && (shard.begin < 0 || shard.begin > shard.end || shard.end > shard.vocab ||
                                     static_cast<std::uint64_t>(shard.end - shard.begin) != rows);
  const std::size_t limit = sharded && !bad_shard ? static_cast<std::size_t>(shard.vocab) : rows;
  const bool with_positions = e.positions != 0;
  const bool by_ids = e.positions == 2 && !e.position_ids.empty();  // empty ids: position_start

  // The status the contract names, from first principles, in lookup.hpp's order.
  errc want = errc::ok;
  std::string want_message = "ok";  // checked where not empty
  std::size_t want_position = 0;
  const bool size_ok = e.stride == 0 ? out_size == need
                                     : (n == 0 ? out_size == 0 : out_size >= (n - 1) * stride + dim && out_size <= n * stride);
  if (e.stride != 0 && e.stride < dim) {
    want = errc::invalid_argument;
    want_message = "";
  } else if (!size_ok) {
    want = errc::size_mismatch;
    want_message = e.stride != 0 ? "" : "output holds " + std::to_string(out_size) + " floats but " + std::to_string(n) +
                   " ids x dim " + std::to_string(dim) + " need " + std::to_string(need);
  } else if (threads < 0) {
    want = errc::invalid_argument;
    want_message = "lookup_options::threads is " + std::to_string(threads) + ", expected >= 0";
  } else if (!std::isfinite(e.scale)) {
    want = errc::invalid_argument;
    want_message = "";
  } else if (by_ids && e.position_ids.size() != n) {
    want = errc::invalid_argument;
    want_message = "";
  } else if (bad_shard) {
    want = errc::invalid_argument;
    const std::string name = "lookup_options::shard [" + std::to_string(shard.begin) + ", " +
                             std::to_string(shard.end) + ") of vocab " + std::to_string(shard.vocab);
    want_message = shard.begin < 0 || shard.begin > shard.end || shard.end > shard.vocab
                       ? name + " is not within [0, vocab): expected 0 <= begin <= end <= vocab"
                       : name + " holds " + std::to_string(shard.end - shard.begin) + " rows but the table has " +
                             std::to_string(rows);
  } else if (const auto bad = embtab::ref::first_bad_id(ids, limit)) {
    want = errc::id_out_of_range;
    want_position = *bad;
    want_message = "id " + std::to_string(ids[*bad]) + " at position " + std::to_string(*bad) +
                   " is out of range [0, " + std::to_string(limit) + ")";
  } else if (with_positions && n > 0) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t p = by_ids ? e.position_ids[i] : e.position_start + static_cast<std::int64_t>(i);
      if (p < 0 || static_cast<std::uint64_t>(p) >= rows) {
        want = errc::position_out_of_range;
        want_position = i;
        want_message = "";
        break;
      }
    }
  }

  // The same rows as a C API table (a view of them); an empty table has no C counterpart: the
  // C API gets a NULL table there, which it must refuse.
  const std::unique_ptr<embtab_table, c_table_deleter> ct(
      rows == 0 ? nullptr
                : embtab_table_wrap(t.data(), t.bytes(), rows, dim, static_cast<int>(t.type()), t.row_stride(), nullptr));
  FUZZ_CHECK(rows == 0 || ct != nullptr, "embtab_table_wrap refused a table the C++ API made");

  for (const auto isa : embtab::supported_isas()) {
    FUZZ_CHECK(embtab::set_isa(isa), "set_isa(%.*s)", static_cast<int>(isa.size()), isa.data());
    guarded_out<Out> buffer(out_size, offset, pattern);
    reverse_pool pool;
    embtab::lookup_options options{.threads = threads, .shard = shard, .out_row_stride = e.stride,
                                   .scale = e.scale, .streaming_stores = e.streaming};
    if (with_positions) {
      options.positions = &t;
      options.position_start = e.position_start;
      options.position_ids = e.position_ids;
    }
    if (hook) options.parallel = {.run = &reverse_pool::run, .context = &pool};
    const embtab::status st = embtab::lookup(t, std::span<const Id>(ids), buffer.out(), options);
    const std::size_t tasks = want == errc::ok ? embtab::lookup_tasks(n, dim, options) : 1;
    FUZZ_CHECK(pool.calls == (hook && tasks > 1 ? 1u : 0u) && (pool.calls == 0 || pool.tasks == tasks),
               "hook called %zu times with %zu tasks, want %zu", pool.calls, pool.tasks, tasks);
    if (ct != nullptr) {
      check_c_call<Id, Out>(ct.get(), ids, st, buffer, out_size, offset, pattern, hook, pool, options, e.out,
                            e.positions, isa);
    } else {
      guarded_out<Out> c_out(out_size, offset, pattern);
      FUZZ_CHECK(embtab_lookup_ex(nullptr, ids.data(), static_cast<int>(sizeof(Id) * 8), n, c_out.out().data(), out_size, nullptr,
                                  nullptr) == EMBTAB_INVALID_ARGUMENT && c_out.untouched(),
                 "C API lookup on a NULL table");
    }
    const std::string message = st.message();
    FUZZ_CHECK(st.code() == want && st.ok() == (want == errc::ok) && st.position() == want_position &&
                   (want_message.empty() || message == want_message),
               "%.*s %s %zu x %zu, %zu ids, out %zu, stride %zu, scale %a, positions %d (start %" PRId64
               ", %zu ids), threads %d, shard [%" PRId64 ", %" PRId64 ") of %" PRId64 ": got \"%s\" (%s) at %zu, want \"%s\" (%s) at %zu",
               static_cast<int>(isa.size()), isa.data(), embtab::to_string(t.type()), rows, dim, n, out_size, e.stride,
               static_cast<double>(e.scale), e.positions, e.position_start, e.position_ids.size(), threads, shard.begin,
               shard.end, shard.vocab, message.c_str(), embtab::to_string(st.code()), st.position(), want_message.c_str(),
               embtab::to_string(want), want_position);
    if (want != errc::ok) {
      FUZZ_CHECK(buffer.untouched(), "%.*s wrote to out on error %s", static_cast<int>(isa.size()), isa.data(),
                 message.c_str());
      continue;
    }
    FUZZ_CHECK(buffer.guards_intact(), "%.*s wrote outside out", static_cast<int>(isa.size()), isa.data());
    const std::span<Out> out = buffer.out();
    const bool epilogue = e.scale != 1.0f || with_positions;
    const bool copies_bits = !epilogue && ((t.type() == dtype::f16 && e.out == out_kind::f16) ||
                                           (t.type() == dtype::bf16 && e.out == out_kind::bf16));
    for (std::size_t i = 0; i < n; ++i) {
      const auto id = static_cast<std::int64_t>(ids[i]);
      const bool in_table = !sharded || (id >= shard.begin && id < shard.end);
      const std::size_t row = static_cast<std::size_t>(sharded ? id - shard.begin : id);
      const std::int64_t p = by_ids ? e.position_ids[i] : e.position_start + static_cast<std::int64_t>(i);
      for (std::size_t j = 0; j < dim; ++j) {
        float v = 0.0f;
        if (in_table) {
          v = s.want[row * dim + j];
          if (e.scale != 1.0f) v = multiply(v, e.scale);
          if (with_positions) v = add(v, s.want[static_cast<std::size_t>(p) * dim + j]);
        }
        std::uint32_t got = 0;
        std::memcpy(&got, out.data() + i * stride + j, sizeof(Out));
        std::uint32_t w = out_bits(v, e.out);
        if (copies_bits && in_table) {  // f16 -> f16, bf16 -> bf16, nothing applied: the stored bits
          std::uint16_t h = 0;
          std::memcpy(&h, s.stored.data() + row * s.stored_stride + 2 * j, 2);
          w = h;
        }
        const bool any_nan = s.nan_is_nan || (in_table && (epilogue && e.out == out_kind::f32)) ||
                             (in_table && with_positions && e.out == out_kind::f16) ||
                             (s.nan_is_nan && e.out == out_kind::f16);
        FUZZ_CHECK(same_out(got, w, e.out, any_nan),
                   "%.*s %s %zu x %zu out %d stride %zu scale %a positions %d: id %" PRId64
                   " (position %zu) value %zu is 0x%08x, want 0x%08x",
                   static_cast<int>(isa.size()), isa.data(), embtab::to_string(t.type()), rows, dim,
                   static_cast<int>(e.out), stride, static_cast<double>(e.scale), e.positions,
                   static_cast<std::int64_t>(ids[i]), i, j, got, w);
      }
      // The elements between rows (and after the last one) are never written.
      if (i + 1 < n || stride > dim)
        for (std::size_t j = dim; j < stride && i * stride + j < out.size(); ++j)
          FUZZ_CHECK(buffer.unchanged(i * stride + j), "%.*s wrote element %zu of the gap after row %zu",
                     static_cast<int>(isa.size()), isa.data(), j, i);
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
    const bool hook = in.ConsumeIntegralInRange<int>(0, 3) == 0;
    // One shard of a larger vocab (ids are then drawn from it too), or now and then a wrong one.
    embtab::vocab_shard shard;
    if (in.ConsumeIntegralInRange<int>(0, 3) == 0 && rows > 0) {
      const auto r = static_cast<std::int64_t>(rows);
      shard.begin = in.ConsumeIntegralInRange<std::int64_t>(0, 3 * r);
      shard.end = shard.begin + r;
      shard.vocab = shard.end + in.ConsumeIntegralInRange<std::int64_t>(0, 2 * r);
      switch (in.ConsumeIntegralInRange<int>(0, 9)) {
        case 0: shard.end += in.ConsumeBool() ? 1 : -1; break;
        case 1: shard.begin = -shard.begin - 1; break;
        case 2: shard.vocab = shard.end - 1; break;
        case 3: shard.vocab = in.ConsumeIntegral<std::int64_t>(); break;
        default: break;
      }
      for (auto& id : ids)
        if (in.ConsumeBool()) id = pick_id(in, static_cast<std::size_t>(std::clamp<std::int64_t>(shard.vocab, 1, std::int64_t{1} << 40)));
    }
    const bool wide_ids = !in.ConsumeBool();
    // The epilogue, drawn last: an input that ends before it gets the plain fp32 lookup.
    epilogue_draw e;
    e.out = static_cast<out_kind>(in.ConsumeIntegralInRange<int>(0, 2));
    if (in.ConsumeIntegralInRange<int>(0, 3) == 1 && dim > 0) {
      e.stride = dim + in.ConsumeIntegralInRange<std::size_t>(0, 9);
      if (in.ConsumeIntegralInRange<int>(0, 7) == 0) e.stride = in.ConsumeIntegralInRange<std::size_t>(1, dim);  // maybe < dim
      const std::size_t lo = ids.empty() ? 0 : (ids.size() - 1) * e.stride + dim, hi = ids.size() * e.stride;
      out_size = in.ConsumeIntegralInRange<int>(0, 7) == 0 ? in.ConsumeIntegralInRange<std::size_t>(0, hi + 2)
                                                          : in.ConsumeIntegralInRange<std::size_t>(lo, std::max(lo, hi));
    }
    static constexpr float odd_scales[] = {0.0f, -1.0f, 45.25f, 0x1p-130f, 3e38f, INFINITY, NAN, -0.0f};
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
      case 1: e.scale = in.PickValueInArray(odd_scales); break;
      case 2: e.scale = std::bit_cast<float>(in.ConsumeIntegral<std::uint32_t>()); break;
      default: break;
    }
    if (rows > 0) {
      e.positions = in.ConsumeIntegralInRange<int>(0, 2);
      if (e.positions == 1) {
        const auto r = static_cast<std::int64_t>(rows);
        e.position_start = in.ConsumeIntegralInRange<int>(0, 7) == 0 ? in.ConsumeIntegral<std::int64_t>()
                                                                     : in.ConsumeIntegralInRange<std::int64_t>(0, r);
      } else if (e.positions == 2) {
        const bool wrong_length = in.ConsumeIntegralInRange<int>(0, 7) == 0;
        e.position_ids.resize(wrong_length ? in.ConsumeIntegralInRange<std::size_t>(0, ids.size() + 1) : ids.size());
        for (auto& p : e.position_ids) p = pick_id(in, rows);
      }
    }
    e.streaming = in.ConsumeBool();
    const auto go = [&](auto id_tag, auto out_tag) {
      check_call<decltype(id_tag), decltype(out_tag)>(*s, ids, out_size, offset, threads, pattern, hook, shard, e);
    };
    const auto by_out = [&](auto id_tag) {
      switch (e.out) {
        case out_kind::f32: go(id_tag, float{}); break;
        case out_kind::f16: go(id_tag, embtab::f16{}); break;
        case out_kind::bf16: go(id_tag, embtab::bf16{}); break;
      }
    };
    if (wide_ids)
      by_out(std::int64_t{});
    else
      by_out(std::int32_t{});
  }
  embtab::set_isa(embtab::supported_isas().front());
  return 0;
}
