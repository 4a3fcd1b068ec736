#include "tool_errors.hpp"

#include <algorithm>
#include <cstdio>

namespace embtab::tool {

std::string one_line_failure(const CLI::App* app, const CLI::Error& e) {
  std::string path = app->get_name();
  while (!app->get_subcommands().empty()) {
    app = app->get_subcommands().back();
    path += " " + app->get_name();
  }
  std::string what = e.what();
  std::replace(what.begin(), what.end(), '\n', ' ');
  return path + ": " + what + " (see " + path + " --help)\n";
}

int exit_code(const CLI::App& app, const CLI::ParseError& e) {
  const int code = app.exit(e);
  if (code == 0 || dynamic_cast<const CLI::RuntimeError*>(&e) != nullptr) return code;
  return usage_error;
}

void fail(const std::string& command, const std::string& what) {
  std::fprintf(stderr, "embtab %s: %s\n", command.c_str(), what.c_str());
  throw CLI::RuntimeError(usage_error);
}

}  // namespace embtab::tool
