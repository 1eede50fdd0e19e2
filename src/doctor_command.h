// `pycov doctor`: run the program measured, match what it did against the knowledge base, and
// report findings with evidence, impact and remediation (SPEC §2, §6).
#pragma once

#include <string>
#include <vector>

namespace pycov {

/// Runs `pycov doctor ARGS...`; returns the exit status of SPEC §2.
int DoctorCommand(const std::vector<std::string>& args);

}  // namespace pycov
