/* embtab/export.h: EMBTAB_API marks what libembtab exports (valid C and C++).
 *
 * embtab is built with hidden visibility (-fvisibility=hidden -fvisibility-inlines-hidden), so
 * a shared libembtab.so exports only what carries EMBTAB_API: the C API (embtab_*, embtab.h)
 * and the C++ API (embtab::, embtab.hpp). A GNU linker version script (cmake/embtab.map)
 * makes sure of it, and CTest's shared_exports checks the result. In a static build the
 * attribute changes nothing for the program that links libembtab.a. */
#ifndef EMBTAB_EXPORT_H
#define EMBTAB_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define EMBTAB_API __attribute__((visibility("default")))
#else
#define EMBTAB_API
#endif

#endif /* EMBTAB_EXPORT_H */
