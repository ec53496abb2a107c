// lowp command line: a thin main that dispatches to one subcommand per file.
#include <iostream>
#include <map>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"lowp: fast reduced-precision inference engines for ONNX models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("lowp ") + LOWP_VERSION);
  std::map<std::string, lowp::tools::CommandRunner> runners;
  runners["run"] = lowp::tools::addRunCommand(app);
  runners["build"] = lowp::tools::addBuildCommand(app);
  runners["calibrate"] = lowp::tools::addCalibrateCommand(app);
  runners["conformance"] = lowp::tools::addConformanceCommand(app);
  runners["exec"] = lowp::tools::addExecCommand(app);
  runners["compare"] = lowp::tools::addCompareCommand(app);
  runners["precisions"] = lowp::tools::addPrecisionsCommand(app);
  runners["report"] = lowp::tools::addReportCommand(app);
  runners["explain"] = lowp::tools::addExplainCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  for (CLI::App* sub : app.get_subcommands()) return runners.at(sub->get_name())();
  return 2;
}
