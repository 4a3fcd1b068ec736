#include "mmap.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "model_parse.hpp"

namespace embtab::detail {
namespace {

// Closes the descriptor on every path out of open(); the mapping does not need it.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::shared_ptr<const mapped_file> mapped_file::open(const std::filesystem::path& path) {
  const std::string label = path.string();
  const fd_guard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) throw_file_error(label, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) throw_file_error(label, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw_file_error(label, "not a regular file");
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0) return std::shared_ptr<const mapped_file>(new mapped_file(nullptr, 0));
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.fd, 0);
  if (p == MAP_FAILED)
    throw_file_error(label, "cannot map " + std::to_string(size) + " bytes: " + std::strerror(errno));
  ::madvise(p, size, MADV_RANDOM);  // a hint: failure changes nothing but speed
  return std::shared_ptr<const mapped_file>(new mapped_file(static_cast<const std::byte*>(p), size));
}

mapped_file::~mapped_file() {
  if (size_ != 0) ::munmap(const_cast<std::byte*>(data_), size_);
}

void mapped_file::will_read(std::size_t offset, std::size_t bytes) const noexcept {
  if (bytes == 0 || offset >= size_) return;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t begin = offset / page * page;
  const std::size_t end = offset + std::min(bytes, size_ - offset);
  auto* p = const_cast<std::byte*>(data_) + begin;
  ::madvise(p, end - begin, MADV_SEQUENTIAL);
  ::madvise(p, end - begin, MADV_WILLNEED);
}

}  // namespace embtab::detail
