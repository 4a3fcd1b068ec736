# One source file per instruction set, each with its own flags. Everything else in embtab is
# built for the baseline x86-64 CPU; never -march=native.
function(embtab_add_isa_kernels target)
  set(dir ${PROJECT_SOURCE_DIR}/src/kernels)
  target_sources(${target} PRIVATE ${dir}/gather_scalar.cpp ${dir}/gather_sse2.cpp
                                   ${dir}/gather_avx2.cpp ${dir}/gather_avx512bw.cpp)
  # -ffp-contract=off everywhere: the kernels do exactly the arithmetic they spell out (an
  # exact-results contract; GCC would otherwise fuse a multiply and a subtraction into an fma).
  set_source_files_properties(${dir}/gather_scalar.cpp ${dir}/gather_sse2.cpp PROPERTIES
    COMPILE_OPTIONS "-ffp-contract=off")
  set_source_files_properties(${dir}/gather_avx2.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-ffp-contract=off")
  # GCC 12's -mavx512f implies AVX2 but neither FMA nor F16C.
  set_source_files_properties(${dir}/gather_avx512bw.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx512f;-mavx512cd;-mavx512dq;-mavx512bw;-mfma;-mf16c;-ffp-contract=off;$<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>")
  # (GCC 12 warns about the deliberately undefined upper lanes of _mm512_castps256_ps512.)
endfunction()
