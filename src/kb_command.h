// `pycov kb list | show ID-OR-SLUG | check [DIR]` and `pycov explain ID-OR-SLUG`: the knowledge
// base of known problems, read by the rule engine (rules/).
#pragma once

#include <string>
#include <vector>

namespace pycov {

/// The knowledge base shipped with pycov.
std::string BuiltInKnowledgeBaseDirectory();

/// Runs `pycov kb ARGS...`; returns the exit status.
int KbCommand(const std::vector<std::string>& args);

/// Runs `pycov explain ID-OR-SLUG [--kb DIR]...`; returns the exit status.
int ExplainCommand(const std::vector<std::string>& args);

}  // namespace pycov
