#include "redaction.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>

namespace pycov {
namespace {

// Variables a bug report may show with their values: they say how Python, the locale, the
// terminal and CI were set up, and never hold credentials by themselves.
bool AllowListed(const std::string& name) {
  static const char* kNames[] = {"PATH",        "PYTHONPATH",   "PYTHONHOME",      "PYTHONHASHSEED",
                                 "PYTHONDONTWRITEBYTECODE",     "PYTHONUNBUFFERED", "PYTHONWARNINGS",
                                 "PYTHONIOENCODING",            "PYTHONUTF8",      "PYTHONSAFEPATH",
                                 "PYTHONNOUSERSITE",            "PYTHONFAULTHANDLER", "PYTHONDEVMODE",
                                 "VIRTUAL_ENV", "CONDA_PREFIX", "LANG",            "LANGUAGE",
                                 "TERM",        "SHELL",        "TZ",              "HOME",
                                 "USER",        "LOGNAME",      "PWD",             "TMPDIR",
                                 "CI",          "GITHUB_ACTIONS", "GITLAB_CI",     "RUNNER_OS",
                                 "TRAVIS",      "JENKINS_URL",  "TF_BUILD",        "BUILDKITE",
                                 "NO_COLOR",    "FORCE_COLOR",  "COLUMNS",         "PYTEST_ADDOPTS",
                                 "TOX_ENV_NAME", "NOX_CURRENT_SESSION", "GEVENT_SUPPORT", "EVENTLET_HUB"};
  if (std::any_of(std::begin(kNames), std::end(kNames), [&](const char* n) { return name == n; })) return true;
  for (const char* prefix : {"LC_", "COVERAGE_", "PYCOV_"})
    if (name.rfind(prefix, 0) == 0) return true;
  return false;
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

// Replaces `word` where it stands on its own (not inside a longer name).
std::string ReplaceWord(const std::string& text, const std::string& word, const std::string& by, size_t& count) {
  if (word.empty()) return text;
  std::string out;
  size_t at = 0;
  for (size_t found; (found = text.find(word, at)) != std::string::npos;) {
    size_t end = found + word.size();
    bool alone = (found == 0 || !IsWordChar(text[found - 1])) && (end == text.size() || !IsWordChar(text[end]));
    out.append(text, at, found - at);
    if (alone) {
      out += by;
      ++count;
    } else {
      out += word;
    }
    at = end;
  }
  out.append(text, at, std::string::npos);
  return out;
}

std::string ReplaceAll(const std::string& text, const std::string& what, const std::string& by, size_t& count) {
  if (what.empty()) return text;
  std::string out;
  size_t at = 0;
  for (size_t found; (found = text.find(what, at)) != std::string::npos; at = found + what.size()) {
    out.append(text, at, found - at);
    out += by;
    ++count;
  }
  out.append(text, at, std::string::npos);
  return out;
}

std::string RegexReplace(const std::string& text, const std::regex& pattern, const std::string& by, size_t& count) {
  std::string out;
  auto begin = std::sregex_iterator(text.begin(), text.end(), pattern);
  size_t at = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    out.append(text, at, size_t(it->position()) - at);
    out += it->format(by);
    at = size_t(it->position() + it->length());
    ++count;
  }
  if (at == 0 && begin == std::sregex_iterator()) return text;
  out.append(text, at, std::string::npos);
  return out;
}

// scheme://userinfo@ : whatever precedes the '@' is a credential.
const std::regex& UrlCredentials() {
  static const std::regex pattern(R"(([A-Za-z][A-Za-z0-9+.\-]*://)[^/\s@'"]+@)");
  return pattern;
}

// Strings shaped like the tokens of well-known services.
const std::regex& TokenShaped() {
  static const std::regex pattern(
      R"(\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_\-]{20,}|xox[abprs]-[A-Za-z0-9\-]{10,}|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_\-]{20,}))");
  return pattern;
}

}  // namespace

Identity CurrentIdentity() {
  Identity identity;
  if (const char* home = getenv("HOME"); home != nullptr && *home != '\0') identity.home = home;
  if (const passwd* entry = getpwuid(getuid()); entry != nullptr) {
    identity.user = entry->pw_name;
    if (identity.home.empty()) identity.home = entry->pw_dir;
  }
  while (identity.home.size() > 1 && identity.home.back() == '/') identity.home.pop_back();
  if (identity.home == "/") identity.home.clear();  // nothing worth replacing
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) identity.host = host;
  return identity;
}

bool LooksSecretName(const std::string& name) {
  std::string upper;
  for (char c : name) upper += char(std::toupper(static_cast<unsigned char>(c)));
  for (const char* word : {"TOKEN", "SECRET", "KEY", "PASS", "AUTH", "CREDENTIAL", "COOKIE", "SESSION", "PRIVATE",
                           "SIGNATURE", "CERT", "DSN"})
    if (upper.find(word) != std::string::npos) return true;
  return false;
}

Redactor::Redactor(Identity identity) : identity_(std::move(identity)) {
  // A user or host name of one or two characters would be replaced inside ordinary words.
  if (identity_.user.size() < 3) identity_.user.clear();
  if (identity_.host.size() < 3) identity_.host.clear();
}

void Redactor::LearnSecret(const std::string& value) {
  std::string lower;
  for (char c : value) lower += char(std::tolower(static_cast<unsigned char>(c)));
  // Too short or too common to be a secret worth masking everywhere it appears.
  if (value.size() < 4 || lower == "true" || lower == "false" || lower == "none" || lower == "null") return;
  if (std::find(secrets_.begin(), secrets_.end(), value) != secrets_.end()) return;
  secrets_.push_back(value);
  std::stable_sort(secrets_.begin(), secrets_.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

void Redactor::LearnEnvironment(const std::vector<std::string>& environment) {
  for (const auto& entry : environment) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = entry.substr(0, eq), value = entry.substr(eq + 1);
    if (LooksSecretName(name)) LearnSecret(value);
    LearnArguments({value});  // a URL with credentials in an innocent-looking variable
  }
}

void Redactor::LearnArguments(const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    size_t eq = arg.find('=');
    if (arg.rfind("-", 0) == 0) {
      std::string name = arg.substr(0, eq);
      if (LooksSecretName(name)) {
        if (eq != std::string::npos) LearnSecret(arg.substr(eq + 1));
        else if (i + 1 < argv.size()) LearnSecret(argv[i + 1]);
      }
    } else if (eq != std::string::npos && eq > 0 && LooksSecretName(arg.substr(0, eq)) &&
               std::all_of(arg.begin(), arg.begin() + long(eq),
                           [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
      LearnSecret(arg.substr(eq + 1));
    }
    for (auto it = std::sregex_iterator(arg.begin(), arg.end(), UrlCredentials()); it != std::sregex_iterator();
         ++it) {
      std::string userinfo = it->str().substr(size_t((*it)[1].length()));
      userinfo.pop_back();  // '@'
      if (size_t colon = userinfo.find(':'); colon != std::string::npos) LearnSecret(userinfo.substr(colon + 1));
    }
  }
}

void Redactor::LearnSetting(const std::string& name, const std::string& value) {
  if (LooksSecretName(name)) {
    LearnSecret(value);
    ++counts_.config_secrets;
  }
}

std::vector<std::string> Redactor::RedactEnvironment(const std::vector<std::string>& environment) {
  std::vector<std::string> shown;
  for (const auto& entry : environment) {
    size_t eq = entry.find('=');
    const std::string name = entry.substr(0, eq);
    if (!AllowListed(name)) {
      shown.push_back(name + "=<not included>");
      ++counts_.environment_omitted;
    } else if (LooksSecretName(name)) {
      shown.push_back(name + "=" + kMask);
      ++counts_.environment_masked;
    } else {
      shown.push_back(Scrub(entry));
    }
  }
  std::sort(shown.begin(), shown.end());
  return shown;
}

std::vector<std::string> Redactor::RedactArguments(const std::vector<std::string>& argv) {
  std::vector<std::string> shown;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    size_t eq = arg.find('=');
    bool option = arg.rfind("-", 0) == 0;
    if (option && LooksSecretName(arg.substr(0, eq))) {
      if (eq != std::string::npos) {
        shown.push_back(arg.substr(0, eq + 1) + kMask);
        ++counts_.argument_secrets;
      } else {
        shown.push_back(Scrub(arg));
        if (i + 1 < argv.size()) {
          shown.push_back(kMask);
          ++counts_.argument_secrets;
          ++i;
        }
      }
      continue;
    }
    if (!option && eq != std::string::npos && eq > 0 && LooksSecretName(arg.substr(0, eq))) {
      shown.push_back(arg.substr(0, eq + 1) + kMask);
      ++counts_.argument_secrets;
      continue;
    }
    shown.push_back(Scrub(arg));
  }
  return shown;
}

std::string Redactor::Scrub(const std::string& input) {
  std::string text = input;
  for (const auto& secret : secrets_) text = ReplaceAll(text, secret, kMask, counts_.secret_occurrences);
  text = RegexReplace(text, UrlCredentials(), std::string("$1") + kMask + "@", counts_.url_credentials);
  text = RegexReplace(text, TokenShaped(), kMask, counts_.token_shaped);
  if (!identity_.home.empty()) {
    // The home directory as a path, or a path prefix; not a longer name that starts with it.
    std::string out;
    size_t at = 0;
    for (size_t found; (found = text.find(identity_.home, at)) != std::string::npos;) {
      size_t end = found + identity_.home.size();
      bool whole = end == text.size() || text[end] == '/' || !IsWordChar(text[end]);
      out.append(text, at, found - at);
      out += whole ? "~" : identity_.home;
      if (whole) ++counts_.home;
      at = end;
    }
    out.append(text, at, std::string::npos);
    text = std::move(out);
  }
  text = ReplaceWord(text, identity_.user, "<user>", counts_.user);
  text = ReplaceWord(text, identity_.host, "<host>", counts_.host);
  return text;
}

}  // namespace pycov
