// Vocab-parallel token embeddings on a real distributed engine (MPI), as a tensor-parallel
// runtime does it (Megatron's VocabParallelEmbedding): rank r of P holds rows [begin, end) of
// one V x D table, looks every id up with lookup_options::shard (ids outside its rows give
// rows of +0.0f), and an MPI_Allreduce (sum) of the fp32 outputs gives every rank the full
// lookup. Rank 0 checks it against the unsharded lookup bit for bit and prints what the
// lookup and the all-reduce cost.
//
//   mpirun -np 4 embtab_mpi_vocab_parallel [--vocab V] [--dim D] [--n 512,4096] [--reps R]
//                                          [--dtype f32] [--threads T]
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <embtab/embtab.hpp>

namespace {

// The weight of (row, col): computable on any rank without the others' rows.
float weight(std::int64_t row, std::size_t col) {
  std::uint64_t x = (static_cast<std::uint64_t>(row) << 32 ^ col) + 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<float>(static_cast<std::int32_t>(x >> 40) - (1 << 23)) * 0x1p-23f;
}

embtab::table rows_of(std::int64_t begin, std::int64_t end, std::size_t dim, embtab::dtype type) {
  std::vector<float> w(static_cast<std::size_t>(end - begin) * dim);
  for (std::int64_t r = begin; r < end; ++r)
    for (std::size_t c = 0; c < dim; ++c) w[static_cast<std::size_t>(r - begin) * dim + c] = weight(r, c);
  return embtab::table::from_f32(w, static_cast<std::size_t>(end - begin), dim, type);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);

  std::int64_t vocab = 32000;
  std::size_t dim = 4096;
  std::vector<std::size_t> batches = {512, 4096};
  int reps = 20, threads = 1;
  embtab::dtype type = embtab::dtype::f32;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--vocab") vocab = std::atoll(value);
    else if (flag == "--dim") dim = static_cast<std::size_t>(std::atoll(value));
    else if (flag == "--reps") reps = std::max(1, std::atoi(value));
    else if (flag == "--threads") threads = std::atoi(value);
    else if (flag == "--dtype") {
      const auto t = embtab::dtype_from_name(value);
      if (!t) {
        if (rank == 0) std::fprintf(stderr, "unknown dtype %s\n", value);
        MPI_Abort(MPI_COMM_WORLD, 2);
      }
      type = *t;
    } else if (flag == "--n") {
      batches.clear();
      for (std::string_view s = value; !s.empty();) {
        const auto comma = s.find(',');
        batches.push_back(static_cast<std::size_t>(std::atoll(std::string(s.substr(0, comma)).c_str())));
        s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
      }
    } else {
      if (rank == 0) std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      MPI_Abort(MPI_COMM_WORLD, 2);
    }
  }

  // This rank's shard: an even split, the remainder spread over the first ranks.
  const std::int64_t begin = vocab * rank / ranks, end = vocab * (rank + 1) / ranks;
  const embtab::table shard = rows_of(begin, end, dim, type);
  const embtab::lookup_options options{.threads = threads, .shard = {.begin = begin, .end = end, .vocab = vocab}};

  bool ok = true;
  if (rank == 0)
    std::printf("embtab %s, %d ranks, V=%lld D=%zu %s, %d thread(s) per rank, median of %d reps (slowest rank)\n"
                "| N | lookup ms | all-reduce ms | lookup ns/token | all-reduce ns/token | all-reduce / lookup |\n"
                "|---|---|---|---|---|---|\n",
                EMBTAB_VERSION_STRING, ranks, static_cast<long long>(vocab), dim, embtab::to_string(type), threads,
                reps);
  for (const std::size_t n : batches) {
    std::mt19937_64 gen(n);  // the same ids on every rank
    std::uniform_int_distribution<std::int64_t> pick(0, vocab - 1);
    std::vector<std::int64_t> ids(n);
    std::vector<float> out(n * dim);
    std::vector<double> lookup_ms, reduce_ms;
    for (int r = 0; r < reps; ++r) {
      for (auto& id : ids) id = pick(gen);
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = MPI_Wtime();
      const embtab::status s = embtab::lookup(shard, ids, out, options);
      const double t1 = MPI_Wtime();
      if (!s.ok()) {
        std::fprintf(stderr, "rank %d: %s\n", rank, s.message().c_str());
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
      MPI_Allreduce(MPI_IN_PLACE, out.data(), static_cast<int>(out.size()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      const double t2 = MPI_Wtime();
      double local[2] = {t1 - t0, t2 - t1}, slowest[2] = {0, 0};
      MPI_Reduce(local, slowest, 2, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
      lookup_ms.push_back(slowest[0] * 1e3);
      reduce_ms.push_back(slowest[1] * 1e3);
      if (rank == 0 && r == 0) {
        // The unsharded lookup: every value has one nonzero term in the sum, so the bits match.
        const embtab::table full = rows_of(0, vocab, dim, type);
        std::vector<float> want(n * dim);
        if (!embtab::lookup(full, ids, want, {.threads = threads}).ok() ||
            std::memcmp(want.data(), out.data(), out.size() * sizeof(float)) != 0) {
          std::fprintf(stderr, "N=%zu: the all-reduced shards differ from the unsharded lookup\n", n);
          ok = false;
        }
      }
    }
    if (rank == 0) {
      const double l = median(lookup_ms), a = median(reduce_ms);
      std::printf("| %zu | %.3f | %.3f | %.0f | %.0f | %.2f |\n", n, l, a, l * 1e6 / static_cast<double>(n),
                  a * 1e6 / static_cast<double>(n), a / l);
    }
  }
  int all_ok = ok ? 1 : 0;
  MPI_Bcast(&all_ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (rank == 0 && all_ok) std::printf("mpi_vocab_parallel ok: %d shards sum to the unsharded lookup bit for bit\n", ranks);
  MPI_Finalize();
  return all_ok ? 0 : 1;
}
