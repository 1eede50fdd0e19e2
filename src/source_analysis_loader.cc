// AnalyzeSource, done by the source-analysis plugin (source_analysis_plugin.h), which pycov
// opens the first time it analyses a file.
#include <unistd.h>

#include <filesystem>

#include "shared_library.h"
#include "source_analysis.h"
#include "source_analysis_plugin.h"

namespace pycov {

namespace {

// Where the plugin is: beside the pycov executable, or where the build put it (the unit
// tests run from another directory).
std::string SourceAnalysisPluginPath() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    const std::filesystem::path beside = self.parent_path() / kSourceAnalysisPluginName;
    if (access(beside.c_str(), R_OK) == 0) return beside.string();
  }
  return PYCOV_SOURCE_ANALYSIS_PLUGIN;
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
