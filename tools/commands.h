// The `lowp` subcommands. Each adds its options to the parser and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace lowp::tools {

/// Registers a subcommand; the returned function runs it after parsing and gives the exit code.
using CommandRunner = std::function<int()>;

CommandRunner addRunCommand(CLI::App& app);
CommandRunner addBuildCommand(CLI::App& app);
CommandRunner addConformanceCommand(CLI::App& app);
CommandRunner addCalibrateCommand(CLI::App& app);
CommandRunner addExecCommand(CLI::App& app);
CommandRunner addCompareCommand(CLI::App& app);
CommandRunner addPrecisionsCommand(CLI::App& app);
CommandRunner addReportCommand(CLI::App& app);
CommandRunner addExplainCommand(CLI::App& app);

}  // namespace lowp::tools
