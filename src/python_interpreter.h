// What pycov reads from an exec to tell a Python interpreter and what it will do: the name of
// the file it runs, and python3's own options (those before the script, `-c`, `-m` or `--`),
// read the way python3 parses them. Header-only and without allocation: the tracer reads them
// between vfork and exec too, where the program's other threads may hold the allocator's locks.
#pragma once

#include <cstddef>
#include <string_view>

namespace pycov {

/// Whether a file name is one Python interpreters go by: python, python3, python3.11,
/// python3.11d, pythonw, python3.11-dbg (python(\d+(\.\d+)?)?[a-z]*(-dbg)?).
constexpr bool IsPythonExecutableName(std::string_view name) {
  if (name.substr(0, 6) != "python") return false;
  size_t i = 6;
  auto skip_digits = [&] {
    const size_t start = i;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
    return i > start;
  };
  if (skip_digits() && i < name.size() && name[i] == '.') {
    const size_t dot = i++;
    if (!skip_digits()) i = dot;  // "3." without a minor version: the dot is not part of it
  }
  while (i < name.size() && name[i] >= 'a' && name[i] <= 'z') ++i;
  return name.substr(i).empty() || name.substr(i) == "-dbg";
}

/// Whether `directory` is the first entry of PYTHONPATH's value `pythonpath`, where pycov puts
/// its bootstrap so that every Python that inherits the environment imports it.
constexpr bool LeadsPythonPath(std::string_view directory, std::string_view pythonpath) {
  return pythonpath.substr(0, directory.size()) == directory &&
         (pythonpath.size() == directory.size() || pythonpath[directory.size()] == ':');
}

/// Calls `on_option(letter)` for each one-letter option of the interpreter arguments
/// `argument(1)` .. `argument(count - 1)` (`argument(0)` is the program), in order; `--version`
/// is reported as 'V' and `--help...` as 'h', and end the options, as they end python3's start.
template <class Argument, class OnOption>
void ForEachInterpreterOption(size_t count, Argument argument, OnOption on_option) {
  // Options that take a value in the next argument, or in the rest of this one.
  auto takes_value = [](char option) { return option == 'W' || option == 'X' || option == 'Q'; };
  for (size_t i = 1; i < count; ++i) {
    const std::string_view arg = argument(i);
    if (arg == "--version") return on_option('V');
    if (arg.substr(0, 6) == "--help") return on_option('h');  // --help-env, --help-all, ...
    if (arg == "--" || arg.size() < 2 || arg[0] != '-' || arg[1] == '-') return;  // script, long option
    for (size_t j = 1; j < arg.size(); ++j) {
      const char option = arg[j];
      if (option == 'c' || option == 'm') return;  // the rest is the command or module
      on_option(option);
      if (takes_value(option)) {
        if (j + 1 == arg.size()) ++i;  // the value is the next argument
        break;
      }
    }
  }
}

/// Whether an option keeps PYTHONPATH's bootstrap from starting: -I and -E make python3
/// ignore PYTHONPATH, -S skips `site`, which imports it.
constexpr bool SkipsBootstrap(char option) { return option == 'I' || option == 'E' || option == 'S'; }

}  // namespace pycov
