// The boundary between pycov and its source-analysis plugin (source_analysis_python.cc), the
// only part of pycov that links the Python runtime. Both are built together, so C++ types
// cross it.
#pragma once

#include <string>
#include <vector>

#include "source_analysis.h"

namespace pycov {

/// The plugin's file name, beside the pycov executable.
inline constexpr const char* kSourceAnalysisPluginName = "pycov-source-analysis.so";

}  // namespace pycov

/// AnalyzeSource, done by the plugin; pycov binds it by this name.
extern "C" __attribute__((visibility("default"))) pycov::Result<pycov::SourceAnalysis> pycov_analyze_source(
    const std::string& path, const std::vector<std::string>& exclude_regexes, pycov::Tokenizer tokenizer);
