// embtab_model_open: what opening a model file and looking up a few ids costs, in time and
// memory, memory-mapped (model_file::open + load, a view) against reading the whole file into
// memory first (then a view of that buffer). One run per process, so RSS is this run's alone.
//
//   embtab_model_open FILE mmap|read [--ids N] [--warm] [--dump OUT]
//
// The file is dropped from the page cache first (posix_fadvise DONTNEED; --warm keeps it), so
// both modes start cold. Prints the time from start to the first lookup's result, then the
// process's RSS (VmRSS, RssFile, RssAnon), major page faults and bytes read from storage. --dump OUT writes every row
// of the table as fp32 (rows x dim, little-endian) after the measurement, for comparison with
// another reader (e.g. gguf.quants.dequantize).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <embtab/embtab.hpp>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

std::string status_field(const char* name, const char* file = "/proc/self/status") {
  std::ifstream f(file);
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(name, 0) == 0) return line.substr(std::strlen(name) + 1);
  return "?";
}

int usage() {
  std::fprintf(stderr, "usage: embtab_model_open FILE mmap|read [--ids N] [--warm] [--dump OUT]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string path = argv[1], mode = argv[2];
  std::size_t n = 100;
  bool warm = false;
  std::string dump;
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--ids" && i + 1 < argc) n = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--warm") warm = true;
    else if (a == "--dump" && i + 1 < argc) dump = argv[++i];
    else return usage();
  }
  if (mode != "mmap" && mode != "read") return usage();
  if (!warm) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd >= 0) {
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      ::close(fd);
    }
  }

  const auto t0 = std::chrono::steady_clock::now();
  embtab::model_file file = embtab::model_file::open(path);
  const embtab::tensor_info* tensor = file.token_embedding();
  if (tensor == nullptr) tensor = file.tensors().empty() ? nullptr : &file.tensors()[0];
  if (tensor == nullptr) {
    std::fprintf(stderr, "%s: no 2-D tensor embtab reads\n", path.c_str());
    return 1;
  }
  embtab::table t;
  std::shared_ptr<std::byte[]> whole;
  if (mode == "mmap") {
    t = file.load(*tensor);
  } else {  // the whole file into memory, then a view of its tensor
    std::ifstream in(path, std::ios::binary);
    whole = std::shared_ptr<std::byte[]>(new std::byte[file.file_bytes()]);
    in.read(reinterpret_cast<char*>(whole.get()), static_cast<std::streamsize>(file.file_bytes()));
    if (!in) {
      std::fprintf(stderr, "%s: read failed\n", path.c_str());
      return 1;
    }
    t = embtab::table::wrap(std::span<const std::byte>(whole.get() + tensor->offset, tensor->bytes), tensor->shape[0],
                            tensor->shape[1], tensor->type, 0, whole);
  }
  std::mt19937_64 rng(42);
  std::vector<std::int64_t> ids(n);
  for (auto& id : ids) id = static_cast<std::int64_t>(rng() % t.rows());
  std::vector<float> out(n * t.dim());
  if (const auto s = embtab::lookup(t, ids, out); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  std::printf("%s %s: %s %s %zu x %zu (%llu of %llu bytes), %zu ids%s: first lookup after %.2f ms; VmRSS %s, "
              "RssFile %s, RssAnon %s, major faults %ld, read from storage %s bytes\n",
              mode.c_str(), path.c_str(), tensor->name.c_str(), embtab::to_string(t.type()), t.rows(), t.dim(),
              static_cast<unsigned long long>(tensor->bytes), static_cast<unsigned long long>(file.file_bytes()), n,
              warm ? " (warm cache)" : " (cold cache)", ms, status_field("VmRSS").c_str(),
              status_field("RssFile").c_str(), status_field("RssAnon").c_str(), ru.ru_majflt,
              status_field("read_bytes", "/proc/self/io").c_str());
  if (!dump.empty()) {
    std::ofstream o(dump, std::ios::binary);
    std::vector<float> row(t.dim());
    for (std::size_t r = 0; r < t.rows(); ++r) {
      const std::int64_t id = static_cast<std::int64_t>(r);
      if (!embtab::lookup(t, std::span(&id, 1), row).ok()) return 1;
      o.write(reinterpret_cast<const char*>(row.data()), static_cast<std::streamsize>(row.size() * 4));
    }
  }
  return 0;
}
