// The bug-report bundle of `pycov doctor --bundle` (SPEC §7): one zip holding what a maintainer
// needs to understand a coverage problem (REPORT.md, findings as JSON and SARIF, the OS and
// Python observation logs, the process tree, system facts, coverage.py's version and config,
// installed packages, per-process data summaries, a manifest with sizes and SHA-256 hashes)
// and nothing the user did not mean to share: every member is redacted before it is written.
#pragma once

#include <string>
#include <vector>

#include "doctor_report.h"
#include "redaction.h"
#include "result.h"
#include "rules/knowledge_base.h"

namespace pycov {

struct BundleMember {
  std::string name;  // path inside the zip
  std::string content;
};

struct BundleOptions {
  std::string path;                      // the zip to write
  bool include_source = false;           // add the measured files under the project
  std::vector<std::string> environment;  // "NAME=value", as the program got it
  Identity identity;                     // whose home, user and host names to replace
  std::vector<std::string> command;      // how pycov was run: "pycov", "doctor", ...
};

/// The default bundle name in the current directory: pycov-bundle-YYYYMMDD-HHMMSS.zip.
std::string DefaultBundlePath();

/// Builds the members, redacted, with the manifest last. Never touches the disk.
std::vector<BundleMember> BuildBundle(const DoctorReport& report, const rules::KnowledgeBase& kb,
                                      const BundleOptions& options);

/// Opens libarchive, which pycov loads only for bundles, once; the error names it. A command
/// that will write a bundle calls it before its work.
Status LoadZipLibrary();

/// Writes the members as a zip (under a temporary name, renamed when complete).
Status WriteZip(const std::string& path, const std::vector<BundleMember>& members);

/// Reads every member of a zip. An error names the file and what is wrong with it.
Result<std::vector<BundleMember>> ReadZip(const std::string& path);

/// `pycov bundle show FILE [--member NAME]`: what a bundle holds, with its manifest checked.
int BundleCommand(const std::vector<std::string>& args);

}  // namespace pycov
