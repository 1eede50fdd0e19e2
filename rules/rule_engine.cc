#include "rule_engine.h"

#include <algorithm>

namespace pycov::rules {

std::string FieldOf(const Observation& observation, const std::string& name) {
  if (name == "kind") return observation.kind;
  if (name == "event") return observation.event;
  auto found = observation.fields.find(name);
  return found != observation.fields.end() ? found->second : std::string();
}

bool Matches(const Pattern& pattern, const Observation& observation) {
  for (const auto& [name, accepted] : pattern.fields) {
    const std::string value = FieldOf(observation, name);
    if (std::find(accepted.begin(), accepted.end(), value) == accepted.end()) return false;
  }
  return true;
}

std::vector<Match> MatchObservations(const KnowledgeBase& kb, const std::vector<Observation>& observations) {
  std::vector<Match> matches;
  for (const auto& entry : kb.entries) {
    const Observation* handled_by = nullptr;
    for (const auto& pattern : entry.match_unless) {
      for (const auto& observation : observations) {
        if (handled_by == nullptr && Matches(pattern, observation)) handled_by = &observation;
      }
    }
    for (const auto& observation : observations) {
      bool hit = std::any_of(entry.match_any.begin(), entry.match_any.end(),
                             [&](const Pattern& p) { return Matches(p, observation); });
      if (hit) matches.push_back({&entry, &observation, handled_by});
    }
  }
  return matches;
}

std::string FillTemplate(const std::string& text, const Observation& observation) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "{{") == 0 || text.compare(i, 2, "}}") == 0) {
      out += text[i];
      ++i;
      continue;
    }
    if (text[i] == '{') {
      size_t close = text.find('}', i);
      if (close != std::string::npos) {
        std::string name = text.substr(i + 1, close - i - 1);
        bool known = name == "kind" || name == "event" || observation.fields.count(name);
        if (known) {
          out += FieldOf(observation, name);
          i = close;
          continue;
        }
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace pycov::rules
