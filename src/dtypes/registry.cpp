// The public face of the registry (dtype.hpp) and the codecs' dispatch table, both derived
// from detail::registry.
#include <array>
#include <stdexcept>
#include <string>
#include <utility>

#include "codecs.hpp"
#include "registry.hpp"

namespace embtab {
namespace detail {
namespace {

template <dtype Type>
constexpr codec_ops ops_of() noexcept {
  using c = codec<Type>;
  codec_ops ops{&c::decode, nullptr, nullptr};
  if constexpr (requires { &c::check; }) ops.check = &c::check;
  if constexpr (requires { &c::encode; }) ops.encode = &c::encode;
  return ops;
}

template <std::size_t... I>
constexpr std::array<codec_ops, dtype_count> all_ops(std::index_sequence<I...>) noexcept {
  return {ops_of<registry[I].type>()...};
}
constexpr auto codecs = all_ops(std::make_index_sequence<dtype_count>());

template <std::size_t... I>
constexpr std::array<dtype, dtype_count> all_types(std::index_sequence<I...>) noexcept {
  return {registry[I].type...};
}
constexpr auto types = all_types(std::make_index_sequence<dtype_count>());

constexpr dtype_info unknown{"unknown", 0, 0, 0};

}  // namespace

const codec_ops& codec_of(dtype type) noexcept { return codecs[static_cast<std::size_t>(type)]; }

}  // namespace detail

const dtype_info& info(dtype type) noexcept {
  const dtype_info* d = detail::find_info(type);
  return d != nullptr ? *d : detail::unknown;
}

std::span<const dtype> all_dtypes() noexcept { return detail::types; }

std::optional<dtype> dtype_from_name(std::string_view name) noexcept {
  for (const auto& e : detail::registry)
    if (e.info.name == name) return e.type;
  return std::nullopt;
}

std::size_t row_bytes(dtype type, std::size_t dim) {
  const auto [bytes, error] = detail::row_size_of(type, dim);
  switch (error) {
    case detail::row_error::none: return bytes;
    case detail::row_error::unknown_dtype:
      throw std::invalid_argument("embtab::row_bytes: dtype " +
                                  std::to_string(static_cast<int>(type)) + " is not registered");
    case detail::row_error::not_block_multiple:
      throw std::invalid_argument("embtab::row_bytes: dim " + std::to_string(dim) +
                                  " is not a multiple of " + std::string(info(type).name) + "'s " +
                                  std::to_string(info(type).block_values) + " values per block");
    case detail::row_error::overflow: break;
  }
  throw std::invalid_argument("embtab::row_bytes: a row of " + std::to_string(dim) + " " +
                              std::string(info(type).name) + " values overflows size_t");
}

bool has_f32_encoder(dtype type) noexcept {
  return detail::find_info(type) != nullptr && detail::codec_of(type).encode != nullptr;
}

const char* to_string(dtype type) noexcept { return info(type).name.data(); }

}  // namespace embtab
