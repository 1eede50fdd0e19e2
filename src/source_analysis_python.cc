// The part of source analysis that needs the Python runtime (`compile()`, and `tokenize` where
// pycov's scanner declines), built as a plugin that pycov opens when it first analyses a file
// (source_analysis_loader.cc): linking libpython into pycov itself cost every command, `pycov run`
// included, its loading and relocation at start.
#include <fstream>
#include <optional>
#include <sstream>

#include "python_runtime.h"
#include "python_tokens.h"
#include "source_analysis_plugin.h"

namespace pycov {
namespace {

constexpr int32_t kNoFirstLine = -1;  // no token of the current statement seen yet

bool IsBlank(const std::string& text) {
  return text.find_first_not_of(" \t\n\r\f\v") == std::string::npos;
}

std::string Utf8(PyObject* str) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(str, &size);
  if (data == nullptr) {
    PyErr_Clear();
    return {};
  }
  return std::string(data, size_t(size));
}

PyRef Import(const char* name) { return PyRef(PyImport_ImportModule(name)); }

// A `readline` over the lines of `text` (bytes or str), as coverage.py builds one.
PyRef ReadlineOver(PyObject* text) {
  PyRef lines(PyObject_CallMethod(text, "splitlines", "O", Py_True));
  if (!lines) return {};
  PyRef iter(PyObject_GetIter(lines.get()));
  if (!iter) return {};
  return PyRef(PyObject_GetAttrString(iter.get(), "__next__"));
}

Error ParseError(const std::string& path, const std::string& detail) {
  return Error{"couldn't parse '" + path + "' as Python source: " + detail};
}

// "SyntaxError: invalid syntax (x.py, line 3)" reads well as it is; IndentationError and
// tokenize.TokenError carry the line in their arguments.
std::string DescribeParseFailure() {
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  PyRef t(type), v(value), tb(traceback);
  std::string name = type != nullptr ? reinterpret_cast<PyTypeObject*>(type)->tp_name : "error";
  std::string message;
  long line = -1;
  if (value != nullptr) {
    if (PyObject_HasAttrString(value, "msg")) {
      PyRef msg(PyObject_GetAttrString(value, "msg"));
      PyRef lineno(PyObject_GetAttrString(value, "lineno"));
      if (msg && PyUnicode_Check(msg.get())) message = Utf8(msg.get());
      if (lineno && PyLong_Check(lineno.get())) line = PyLong_AsLong(lineno.get());
    } else {
      PyRef args(PyObject_GetAttrString(value, "args"));
      if (args && PyTuple_Check(args.get()) && PyTuple_GET_SIZE(args.get()) >= 1) {
        PyRef str(PyObject_Str(PyTuple_GET_ITEM(args.get(), 0)));
        if (str) message = Utf8(str.get());
        if (PyTuple_GET_SIZE(args.get()) >= 2) {
          PyObject* position = PyTuple_GET_ITEM(args.get(), 1);
          if (PyTuple_Check(position) && PyTuple_GET_SIZE(position) >= 1)
            line = PyLong_AsLong(PyTuple_GET_ITEM(position, 0));
        }
      }
    }
  }
  PyErr_Clear();
  std::string text = name + ": " + message;
  if (line >= 0) text += " at line " + std::to_string(line);
  return text;
}

struct RawParse {
  std::set<int32_t> raw_statements;
  std::set<int32_t> raw_excluded;
  std::set<int32_t> raw_docstrings;
  std::map<int32_t, int32_t> multiline;
};

// The tokens from Python's tokenize module: the reference, used where ScanPythonTokens declines.
// Returns nullopt with a Python error set when tokenizing fails.
std::optional<std::vector<PythonToken>> TokenizeWithPython(PyObject* tokenize, PyObject* text) {
  PyRef readline = ReadlineOver(text);
  if (!readline) return std::nullopt;
  PyRef tokens(PyObject_CallMethod(tokenize, "generate_tokens", "O", readline.get()));
  if (!tokens) return std::nullopt;
  PyRef iter(PyObject_GetIter(tokens.get()));
  if (!iter) return std::nullopt;
  std::vector<PythonToken> result;
  while (PyRef token{PyIter_Next(iter.get())}) {
    const auto type = PythonTokenType(PyLong_AsLong(PyTuple_GET_ITEM(token.get(), 0)));
    const std::string text = Utf8(PyTuple_GET_ITEM(token.get(), 1));
    const auto start_line = int32_t(PyLong_AsLong(PyTuple_GET_ITEM(PyTuple_GET_ITEM(token.get(), 2), 0)));
    const auto end_line = int32_t(PyLong_AsLong(PyTuple_GET_ITEM(PyTuple_GET_ITEM(token.get(), 3), 0)));
    result.push_back({type, type == PythonTokenType::kOp ? OperatorName(text) : std::string_view{}, start_line,
                      end_line, IsBlank(text)});
  }
  if (PyErr_Occurred()) return std::nullopt;
  return result;
}

// The token pass of PythonParser._raw_parse: excluded suites, docstrings, multi-line
// statements.
void ScanTokens(const std::vector<PythonToken>& tokens, RawParse& raw, bool& empty) {
  using enum PythonTokenType;
  int indent = 0, exclude_indent = 0, nesting = 0;
  bool excluding = false, excluding_decorators = false, first_on_line = true;
  PythonTokenType prev_type = kIndent;
  int32_t first_line = kNoFirstLine;
  empty = true;
  for (const PythonToken& token : tokens) {
    const PythonTokenType type = token.type;
    const std::string_view ttext = token.op;
    const int32_t start_line = token.start_line, end_line = token.end_line;
    if (type == kIndent) {
      ++indent;
    } else if (type == kDedent) {
      --indent;
    } else if (type == kOp) {
      if (ttext == ":" && nesting == 0) {
        bool should_exclude = raw.raw_excluded.count(end_line) != 0 || excluding_decorators;
        if (!excluding && should_exclude) {
          raw.raw_excluded.insert(end_line);
          exclude_indent = indent;
          excluding = true;
          excluding_decorators = false;
        }
      } else if (ttext == "@" && first_on_line) {
        if (raw.raw_excluded.count(end_line) != 0) excluding_decorators = true;
        if (excluding_decorators) raw.raw_excluded.insert(end_line);
      } else if (ttext == "(" || ttext == "[" || ttext == "{") {
        ++nesting;
      } else if (ttext == ")" || ttext == "]" || ttext == "}") {
        --nesting;
      }
    } else if (type == kString && prev_type == kIndent) {
      // A string first on an indented line is a docstring (trace.py's trick, as coverage.py).
      for (int32_t l = start_line; l <= end_line; ++l) raw.raw_docstrings.insert(l);
    } else if (type == kNewline) {
      if (first_line != kNoFirstLine && end_line != first_line)
        for (int32_t l = first_line; l <= end_line; ++l) raw.multiline[l] = first_line;
      first_line = kNoFirstLine;
      first_on_line = true;
    }
    if (!token.blank && type != kComment) {
      empty = false;
      if (first_line == kNoFirstLine) {
        first_line = start_line;
        if (excluding && indent <= exclude_indent) excluding = false;
        if (excluding) raw.raw_excluded.insert(end_line);
        first_on_line = false;
      }
    }
    prev_type = type;
  }
}

// ByteParser._find_statements: the line numbers of every code object's co_lines().
bool CollectCodeLines(PyObject* code, std::set<int32_t>& lines) {
  std::vector<PyRef> stack;
  stack.push_back(PyRef::Borrow(code));
  while (!stack.empty()) {
    PyRef current = std::move(stack.back());
    stack.pop_back();
    PyRef consts(PyObject_GetAttrString(current.get(), "co_consts"));
    if (!consts) return false;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(consts.get()); ++i) {
      PyObject* item = PyTuple_GET_ITEM(consts.get(), i);
      if (PyCode_Check(item)) stack.push_back(PyRef::Borrow(item));
    }
    PyRef entries(PyObject_CallMethod(current.get(), "co_lines", nullptr));
    if (!entries) return false;
    PyRef iter(PyObject_GetIter(entries.get()));
    if (!iter) return false;
    while (PyRef entry{PyIter_Next(iter.get())}) {
      PyObject* line = PyTuple_GET_ITEM(entry.get(), 2);
      if (line != Py_None) {
        long n = PyLong_AsLong(line);
        if (n != 0) lines.insert(int32_t(n));
      }
    }
    if (PyErr_Occurred()) return false;
  }
  return true;
}

}  // namespace

Result<SourceAnalysis> AnalyzeSourceWithPython(const std::string& path, const std::vector<std::string>& exclude_regexes,
                                               Tokenizer tokenizer) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"no source for '" + path + "': cannot read it"};
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string bytes = buffer.str();
  // As coverage.py reads a file: \r\n and a lone \r become \n (line numbers are counted so),
  // and form feeds, which confuse tokenize's column counting (bpo-19035), become spaces.
  std::string normalized;
  normalized.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c == '\r') {
      normalized.push_back('\n');
      if (i + 1 < bytes.size() && bytes[i + 1] == '\n') ++i;
    } else {
      normalized.push_back(c == '\f' ? ' ' : c);
    }
  }
  bytes = std::move(normalized);

  if (auto started = EnsurePythonRuntime(); !started) return started.error();
  PyGILState_STATE gil = PyGILState_Ensure();
  struct GilRelease {
    PyGILState_STATE state;
    ~GilRelease() { PyGILState_Release(state); }
  } release{gil};

  PyRef tokenize = Import("tokenize");
  PyRef re = Import("re");
  PyRef builtins = Import("builtins");
  if (!tokenize || !re || !builtins) return Error{"embedded Python: " + TakePythonError()};

  // Decode as Python would read it (PEP 263 cookie or BOM, else UTF-8), replacing bad bytes.
  PyRef raw_bytes(PyBytes_FromStringAndSize(bytes.data(), Py_ssize_t(bytes.size())));
  PyRef byte_readline = ReadlineOver(raw_bytes.get());
  PyRef detected(byte_readline ? PyObject_CallMethod(tokenize.get(), "detect_encoding", "O", byte_readline.get())
                               : nullptr);
  if (!detected) return ParseError(path, DescribeParseFailure());
  std::string encoding = Utf8(PyTuple_GET_ITEM(detected.get(), 0));
  PyRef decoded(PyUnicode_Decode(bytes.data(), Py_ssize_t(bytes.size()), encoding.c_str(), "replace"));
  if (!decoded) return ParseError(path, DescribeParseFailure());
  std::string text = Utf8(decoded.get());
  if (!text.empty() && text.back() != '\n') text.push_back('\n');
  PyRef py_text(PyUnicode_FromStringAndSize(text.data(), Py_ssize_t(text.size())));

  SourceAnalysis analysis;
  RawParse raw;
  {
    std::string line;
    std::istringstream lines(text);
    while (std::getline(lines, line)) analysis.source_lines.push_back(line);
  }

  if (!exclude_regexes.empty()) {
    std::string joined;
    if (exclude_regexes.size() == 1) {
      joined = exclude_regexes[0];
    } else {
      for (const auto& r : exclude_regexes) joined += (joined.empty() ? "" : "|") + ("(?:" + r + ")");
    }
    PyRef regex(PyObject_CallMethod(re.get(), "compile", "s", joined.c_str()));
    if (!regex) return Error{"bad exclusion pattern '" + joined + "': " + TakePythonError()};
    // text.split('\n'): the same numbering as coverage.py's lines_matching.
    int32_t number = 0;
    size_t at = 0;
    while (true) {
      size_t end = text.find('\n', at);
      std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
      ++number;
      PyRef match(PyObject_CallMethod(regex.get(), "search", "s#", line.data(), Py_ssize_t(line.size())));
      if (!match) return Error{path + ": " + TakePythonError()};
      if (match.get() != Py_None) raw.raw_excluded.insert(number);
      if (end == std::string::npos) break;
      at = end + 1;
    }
  }

  std::optional<std::vector<PythonToken>> tokens;
  if (tokenizer == Tokenizer::kNative) tokens = ScanPythonTokens(text);
  if (!tokens) tokens = TokenizeWithPython(tokenize.get(), py_text.get());
  if (!tokens) return ParseError(path, DescribeParseFailure());
  bool empty = true;
  ScanTokens(*tokens, raw, empty);

  if (!empty) {
    // compile_unicode: neuter a coding declaration, since the text is already decoded.
    PyRef cookie(PyObject_CallMethod(re.get(), "compile", "si", R"(^[ \t]*#.*coding[:=][ \t]*([-\w.]+))",
                                     8 /* re.MULTILINE */));
    PyRef source = PyRef::Borrow(py_text.get());
    PyRef found(cookie ? PyObject_CallMethod(cookie.get(), "search", "O", py_text.get()) : nullptr);
    if (!found) return Error{path + ": " + TakePythonError()};
    if (found.get() != Py_None) {
      PyRef kept(PyObject_CallMethod(py_text.get(), "splitlines", "O", Py_True));
      if (!kept) return Error{path + ": " + TakePythonError()};
      for (Py_ssize_t i = 0; i < std::min<Py_ssize_t>(2, PyList_GET_SIZE(kept.get())); ++i) {
        PyObject* replaced = PyObject_CallMethod(cookie.get(), "sub", "sO", "# (deleted declaration)",
                                                 PyList_GET_ITEM(kept.get(), i));
        if (replaced == nullptr) return Error{path + ": " + TakePythonError()};
        PyList_SetItem(kept.get(), i, replaced);
      }
      PyRef empty_str(PyUnicode_FromString(""));
      source = PyRef(PyUnicode_Join(empty_str.get(), kept.get()));
    }
    PyRef code(PyObject_CallMethod(builtins.get(), "compile", "Oss", source.get(), path.c_str(), "exec"));
    if (!code) return ParseError(path, DescribeParseFailure());
    if (!CollectCodeLines(code.get(), raw.raw_statements)) return Error{path + ": " + TakePythonError()};
  }

  // Modules say their first line is 1 (PEP 626); coverage.py maps 1 to the first statement.
  if (!raw.multiline.empty() && !raw.raw_statements.empty()) raw.multiline[1] = *raw.raw_statements.begin();

  analysis.multiline = std::move(raw.multiline);
  analysis.excluded = analysis.TranslateLines(raw.raw_excluded);
  std::set<int32_t> ignore = analysis.excluded;
  ignore.insert(raw.raw_docstrings.begin(), raw.raw_docstrings.end());
  std::set<int32_t> starts;
  for (int32_t l : raw.raw_statements)
    if (!ignore.count(l)) starts.insert(l);
  for (int32_t l : analysis.TranslateLines(starts))
    if (!ignore.count(l)) analysis.statements.insert(l);
  return analysis;
}

}  // namespace pycov

extern "C" pycov::Result<pycov::SourceAnalysis> pycov_analyze_source(const std::string& path,
                                                                      const std::vector<std::string>& exclude_regexes,
                                                                      pycov::Tokenizer tokenizer) {
  return pycov::AnalyzeSourceWithPython(path, exclude_regexes, tokenizer);
}
