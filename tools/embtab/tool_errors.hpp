// How the embtab tool fails: one line on stderr, "embtab <command>: <what>", nothing on stdout,
// and exit status 2 for anything the caller got wrong (malformed arguments, an id outside the
// table, a table too large for the machine), so a script can tell a usage error (2) from a
// failed run (1) and from success (0). CLI11's own codes (105 for a validation error, 106 for
// a missing option, ...) are folded into 2.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace embtab::tool {

inline constexpr int usage_error = 2;

// CLI11 failure message (App::failure_message): "embtab lookup: --vocab is required (see
// embtab lookup --help)", one line naming the innermost command that was given.
std::string one_line_failure(const CLI::App* app, const CLI::Error& e);

// app.exit(e) with the exit status this tool promises: 0 for --help and --version, a
// command's own code for CLI::RuntimeError (what commands throw), usage_error for the rest.
int exit_code(const CLI::App& app, const CLI::ParseError& e);

// Prints "embtab <command>: <what>" on stderr and throws CLI::RuntimeError(usage_error).
[[noreturn]] void fail(const std::string& command, const std::string& what);

}  // namespace embtab::tool
