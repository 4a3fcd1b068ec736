// A read-only memory mapping of a whole file (POSIX mmap).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>

namespace embtab::detail {

class mapped_file {
 public:
  // Maps `path` read-only (MAP_PRIVATE, MADV_RANDOM: lookups read scattered rows, so the
  // kernel should not read ahead). An empty file maps to an empty span. Throws file_error
  // naming the path and the system's reason if it cannot be opened, is not a regular file,
  // or cannot be mapped.
  static std::shared_ptr<const mapped_file> open(const std::filesystem::path& path);
  ~mapped_file();
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }

  // Hints that [offset, offset + bytes) is about to be read whole (a copy): read ahead.
  void will_read(std::size_t offset, std::size_t bytes) const noexcept;

 private:
  mapped_file(const std::byte* data, std::size_t size) noexcept : data_(data), size_(size) {}
  const std::byte* data_;
  std::size_t size_;
};

}  // namespace embtab::detail
