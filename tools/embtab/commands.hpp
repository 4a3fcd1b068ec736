// The embtab tool's subcommands. Each lives in its own <name>_command.cpp and registers itself
// on the app through one function here; main.cpp calls them all. A new subcommand is a new
// file, one declaration below, one call in main.cpp and one source in CMakeLists.txt.
// A command that fails throws CLI::RuntimeError(exit_code): main returns that code.
#pragma once

#include <CLI/CLI.hpp>

namespace embtab::tool {

// `embtab bench [--out DIR] [--quick] [--threads N]`: times lookups against the ideal gather,
// memcpy and the one-hot matmul; prints a table, writes results.json, results.md, plot.png.
// `embtab bench --model FILE [--tensor NAME]`: the file's own table, wrapped and copied.
void add_bench_command(CLI::App& app);
// `embtab demo`: the seed notebook step by step (demo_command.cpp).
void add_demo_command(CLI::App& app);
// `embtab inspect FILE`: a model file's tensors and token table (inspect_command.cpp).
void add_inspect_command(CLI::App& app);
// `embtab lookup --vocab V --dim D [--seed S] [--dtype T] --ids 2,3,5,1`, or
// `embtab lookup --model FILE [--tensor NAME] --ids 2,3,5,1` (lookup_command.cpp).
void add_lookup_command(CLI::App& app);

}  // namespace embtab::tool
