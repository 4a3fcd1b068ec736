// EMBTAB_LINK_OFFSET bytes of code that never runs, linked ahead of embtab_bench_core and
// libembtab in the embtab_bench_at<offset> binaries (bench/CMakeLists.txt): every function of
// the library, the kernels included, lands that many bytes further on, at another offset
// modulo 64 than in embtab_bench. The same code measured at the four offsets shows how much of
// a ratio is where the linker happened to put the loops (bench/layouts.py).
#ifndef EMBTAB_LINK_OFFSET
#error "EMBTAB_LINK_OFFSET: the bytes of padding (16, 32 or 48)"
#endif
#define EMBTAB_STRINGIZE2(x) #x
#define EMBTAB_STRINGIZE(x) EMBTAB_STRINGIZE2(x)
asm(".text\n.p2align 4\n.skip " EMBTAB_STRINGIZE(EMBTAB_LINK_OFFSET) ", 0x90\n");
