// Redaction of what a bug-report bundle would otherwise give away (SPEC §7): environment
// variables outside an allow-list, secret-looking values in the environment, in command lines
// and in config, credentials in URLs, token-shaped strings, and the home directory, user and
// host names (replaced consistently, so paths still read). Secrets are learned first, from
// every place they can come from, then scrubbed from every piece of text before it is written.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace pycov {

struct Identity {
  std::string home;  // absolute, without a trailing '/'
  std::string user;
  std::string host;
};

/// The identity of the user running pycov (HOME or the password database, the login name, the
/// host name).
Identity CurrentIdentity();

/// True for a variable, option or setting whose name suggests a secret (TOKEN, SECRET, KEY,
/// PASS, AUTH, CREDENTIAL, COOKIE, SESSION, PRIVATE, ...).
bool LooksSecretName(const std::string& name);

/// How many values of each kind were redacted, for the bundle's manifest.
struct RedactionCounts {
  size_t environment_omitted = 0;  // variables outside the allow-list: named, value left out
  size_t environment_masked = 0;   // allow-listed but secret-looking: masked
  size_t argument_secrets = 0;     // values of secret-looking options and NAME=value arguments
  size_t config_secrets = 0;       // secret-looking settings
  size_t url_credentials = 0;      // user:password@ in URLs
  size_t token_shaped = 0;         // strings shaped like well-known tokens (ghp_..., AKIA...)
  size_t secret_occurrences = 0;   // places a learned secret value was found and masked
  size_t home = 0, user = 0, host = 0;  // replacements
};

class Redactor {
 public:
  static constexpr const char* kMask = "[REDACTED]";

  explicit Redactor(Identity identity);

  /// Learns the secrets of an environment ("NAME=value").
  void LearnEnvironment(const std::vector<std::string>& environment);
  /// Learns the secrets of a command line: `--password X`, `--token=X`, `API_KEY=X`, URL
  /// credentials.
  void LearnArguments(const std::vector<std::string>& argv);
  /// Learns a config setting's value when its name looks secret.
  void LearnSetting(const std::string& name, const std::string& value);

  /// The environment as a bundle may show it: allow-listed variables with scrubbed values
  /// (masked when secret-looking), every other variable by name only.
  std::vector<std::string> RedactEnvironment(const std::vector<std::string>& environment);
  /// A command line with secret values masked and the rest scrubbed.
  std::vector<std::string> RedactArguments(const std::vector<std::string>& argv);
  /// Any text: every learned secret, URL credentials and token-shaped strings masked; the
  /// home directory replaced by `~`, the user by `<user>`, the host by `<host>`.
  std::string Scrub(const std::string& text);

  const RedactionCounts& counts() const { return counts_; }

 private:
  void LearnSecret(const std::string& value);

  Identity identity_;
  std::vector<std::string> secrets_;  // longest first, so a secret is masked whole
  RedactionCounts counts_;
};

}  // namespace pycov
