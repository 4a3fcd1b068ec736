// embtab: the command-line tool. Subcommands register themselves (commands.hpp).
#include <cstdio>
#include <embtab/embtab.hpp>
#include <string>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"embtab " EMBTAB_VERSION_STRING
               ": token-id -> embedding row gather on the CPU at memory speed",
               "embtab"};
  app.set_version_flag("--version", std::string("embtab ") + EMBTAB_VERSION_STRING);
  app.require_subcommand(1);
  embtab::tool::add_bench_command(app);
  if (argc == 1) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);  // --help, --version, usage errors, and commands' exit codes
  }
  return 0;
}
