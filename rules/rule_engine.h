// Matching observations against the knowledge base (SPEC §3 step 4). An observation is a fact
// about the run: an OS event from the supervisor's log, a Python-level event from the tracer,
// an imported module, the user's coverage.py version and config. The engine only compares
// fields; it knows nothing about where they came from.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "rules/knowledge_base.h"

namespace pycov::rules {

struct Observation {
  std::string kind;   // os | python | module | coveragepy | interpreter | data
  std::string event;  // exec, fork, thread-start, settrace, imported, version, ...
  std::map<std::string, std::string> fields;  // matched by patterns, used by message templates
};

/// The value of `name` in `observation`: "kind", "event", or a field; empty when absent.
std::string FieldOf(const Observation& observation, const std::string& name);

/// Whether every key of `pattern` accepts the observation's value.
bool Matches(const Pattern& pattern, const Observation& observation);

struct Match {
  const KbEntry* entry;
  const Observation* observation;
  const Observation* handled_by = nullptr;  // what matched the entry's `unless`, if anything
};

/// Every (entry, observation) where the observation matches one of the entry's `any`
/// patterns. When an `unless` pattern of the entry matches any observation of the run (the
/// user's setup already handles the problem), the match says which. In knowledge-base order,
/// then observation order.
std::vector<Match> MatchObservations(const KnowledgeBase& kb, const std::vector<Observation>& observations);

/// Fills "{name}" in `text` with FieldOf(observation, name); "{{" and "}}" are braces.
/// An unknown name is left as it is, braces included, so a mistake shows.
std::string FillTemplate(const std::string& text, const Observation& observation);

}  // namespace pycov::rules
