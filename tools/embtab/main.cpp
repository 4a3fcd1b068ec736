// embtab: the command-line tool. Subcommands register themselves (commands.hpp).
#include <cstdio>
#include <embtab/embtab.hpp>
#include <string>

#include "commands.hpp"
#include "tool_errors.hpp"

int main(int argc, char** argv) {
  CLI::App app{"embtab " EMBTAB_VERSION_STRING
               ": token-id -> embedding row gather on the CPU at memory speed",
               "embtab"};
  app.set_version_flag("--version", std::string("embtab ") + EMBTAB_VERSION_STRING);
  app.require_subcommand(1);
  app.failure_message(embtab::tool::one_line_failure);  // before the subcommands inherit it
  embtab::tool::add_bench_command(app);
  embtab::tool::add_demo_command(app);
  embtab::tool::add_inspect_command(app);
  embtab::tool::add_lookup_command(app);
  if (argc == 1) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return embtab::tool::exit_code(app, e);  // 0 for --help/--version, 2 for usage errors
  }
  return 0;
}
