// AnalyzeSource, done by the source-analysis plugin (source_analysis_plugin.h), which pycov
// opens the first time it analyses a file.
#include <unistd.h>

#include "shared_library.h"
#include "source_analysis.h"
#include "source_analysis_plugin.h"

namespace pycov {

namespace {

// Where the plugin is: beside the pycov executable, or where the build put it (the unit
// tests run from another directory).
std::string SourceAnalysisPluginPath() {
  const std::string beside = OwnExecutableDirectory() + "/" + kSourceAnalysisPluginName;
  return access(beside.c_str(), R_OK) == 0 ? beside : PYCOV_SOURCE_ANALYSIS_PLUGIN;
}

}  // namespace

Result<SourceAnalysis> AnalyzeSource(const std::string& path, const std::vector<std::string>& exclude_regexes,
                                     Tokenizer tokenizer) {
  static const Result<decltype(&pycov_analyze_source)> analyze = []() -> Result<decltype(&pycov_analyze_source)> {
    auto plugin = SharedLibrary::Open(SourceAnalysisPluginPath());
    if (!plugin) return plugin.error();
    decltype(&pycov_analyze_source) function = nullptr;
    if (auto bound = plugin->Bind("pycov_analyze_source", function); !bound) return bound.error();
    return function;
  }();
  if (!analyze) return Error{"cannot analyse " + path + ": " + analyze.error().message};
  return (*analyze.value())(path, exclude_regexes, tokenizer);
}

}  // namespace pycov
