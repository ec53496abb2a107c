// `lowp report`: renders the JSON that `compare`, `explain` and `precisions` export (--exportJson)
// as one HTML report, several of them merged into one page (e.g. a precision table per model and the
// explain findings, as the demo shows them).
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.h"
#include "html_report.h"

namespace lowp::tools {
namespace {

struct ReportOptions {
  std::vector<std::string> inputs;
  std::string output;
  std::string title;
};

struct ReportError {
  std::string message;
};

ReportJson readReport(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw ReportError{"cannot read " + path};
  ReportJson json = ReportJson::parse(f, nullptr, false);
  if (json.is_discarded() || !json.is_object()) throw ReportError{path + " is not a JSON object"};
  return json;
}

// The sections of `part` appended to `merged`, its table titles and engine labels prefixed with its title
// so that the merged page says which report each comes from.
void merge(ReportJson& merged, const ReportJson& part, const std::string& path) {
  const std::string source =
      part.contains("title") && part["title"].is_string() ? part["title"].get<std::string>() : path;
  auto prefixed = [&](const ReportJson& item, const char* key) {
    ReportJson copy = item;
    if (copy.is_object() && copy.contains(key) && copy[key].is_string())
      copy[key] = source + ": " + copy[key].get<std::string>();
    return copy;
  };
  for (const char* key : {"facts", "tables", "engines", "findings"}) {
    if (!part.contains(key)) continue;
    if (!part[key].is_array()) throw ReportError{path + ": \"" + key + "\" is not a list"};
    if (!merged.contains(key)) merged[key] = ReportJson::array();
    for (const ReportJson& item : part[key]) {
      if (std::string(key) == "tables") {
        merged[key].push_back(prefixed(item, "title"));
      } else if (std::string(key) == "engines") {
        merged[key].push_back(prefixed(item, "label"));
      } else if (std::string(key) == "facts" && item.is_array() && item.size() == 2 && item[0].is_string()) {
        merged[key].push_back({source + ": " + item[0].get<std::string>(), item[1]});
      } else {
        merged[key].push_back(item);
      }
    }
  }
  if (part.contains("layerErrors")) {
    if (merged.contains("layerErrors"))
      throw ReportError{path + ": only one report may hold per-layer errors"};
    merged["layerErrors"] = part["layerErrors"];
  }
}

int runReport(const ReportOptions& o) {
  ReportJson merged;
  merged["title"] = o.title;
  for (const std::string& path : o.inputs) {
    ReportJson part = readReport(path);
    if (o.inputs.size() == 1) {
      if (o.title.empty() && part.contains("title")) merged["title"] = part["title"];
      for (auto& [key, value] : part.items()) {
        if (key != "title") merged[key] = value;
      }
      continue;
    }
    merge(merged, part, path);
  }
  if (merged["title"].is_string() && merged["title"].get<std::string>().empty())
    merged["title"] = "lowp report";
  Status s = writeHtmlReport(merged, o.output);
  if (!s) throw ReportError{s.message()};
  std::cout << "wrote " << o.output << "\n";
  return 0;
}

}  // namespace

CommandRunner addReportCommand(CLI::App& app) {
  auto opt = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Render the JSON of compare, explain or precisions (--exportJson) as one HTML report");
  cmd->add_option("inputs", opt->inputs, "JSON files written by --exportJson (several are merged)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--output", opt->output, "the HTML file to write")->required();
  cmd->add_option("--title", opt->title, "the page's title (default: the report's own)");
  return [opt] {
    try {
      return runReport(*opt);
    } catch (const ReportError& e) {
      std::cerr << "lowp report: error: " << e.message << "\n";
      return 1;
    }
  };
}

}  // namespace lowp::tools
