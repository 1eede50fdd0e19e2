#include "python_bootstrap.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include <gtest/gtest.h>

#include "python_interpreter.h"
#include "test_dir.h"

namespace pycov {
namespace {


const Bootstrap kBootstrap{"/opt/pycov/bootstrap", "/tmp/pycov-run-1"};

TEST(PythonBootstrap, AnEmptyEnvironmentLacksBoth) {
  EXPECT_EQ(MissingBootstrapVariables({}, kBootstrap),
            (std::vector<std::string>{"PYCOV_RUN_DIR=/tmp/pycov-run-1", "PYTHONPATH=/opt/pycov/bootstrap"}));
}

TEST(PythonBootstrap, TheProgramsPythonPathIsKeptAfterTheBootstrap) {
  auto missing = MissingBootstrapVariables({"PYCOV_RUN_DIR=/tmp/pycov-run-1", "PYTHONPATH=/src:/lib"}, kBootstrap);
  EXPECT_EQ(missing, std::vector<std::string>{"PYTHONPATH=/opt/pycov/bootstrap:/src:/lib"});
  EXPECT_TRUE(
      MissingBootstrapVariables({"PYCOV_RUN_DIR=/tmp/pycov-run-1", "PYTHONPATH=/opt/pycov/bootstrap:/src"}, kBootstrap)
          .empty());
}

TEST(PythonBootstrap, WithBootstrapReplacesInPlace) {
  auto environment = WithBootstrap({"HOME=/root", "PYTHONPATH=/src", "PYCOV_RUN_DIR=/elsewhere"}, kBootstrap);
  EXPECT_EQ(environment, (std::vector<std::string>{"HOME=/root", "PYTHONPATH=/opt/pycov/bootstrap:/src",
                                                   "PYCOV_RUN_DIR=/tmp/pycov-run-1"}));
}

TEST(PythonBootstrap, InterpretersByName) {
  EXPECT_EQ(ClassifyExecutable("/usr/bin/python3"), InterpreterKind::kMeasurablePython);  // a symlink
  EXPECT_EQ(ClassifyExecutable("/usr/bin/python3.11"), InterpreterKind::kMeasurablePython);
  EXPECT_EQ(ClassifyExecutable("/usr/local/bin/python3.11d"), InterpreterKind::kMeasurablePython);
  EXPECT_EQ(ClassifyExecutable("/usr/bin/python2.7"), InterpreterKind::kOtherPython);
  EXPECT_EQ(ClassifyExecutable("/opt/python3.12/bin/python3.12"), InterpreterKind::kOtherPython);
  EXPECT_EQ(ClassifyExecutable("/bin/sh"), InterpreterKind::kNotPython);
  EXPECT_EQ(ClassifyExecutable("/usr/bin/pythonista-tool"), InterpreterKind::kNotPython);
  InterpreterClassifier classifier;
  EXPECT_EQ(classifier.Classify("/usr/bin/python3.11"), InterpreterKind::kMeasurablePython);
  EXPECT_EQ(classifier.Classify("/usr/bin/python3.11"), InterpreterKind::kMeasurablePython);
  EXPECT_EQ(classifier.Classify("/bin/sh"), InterpreterKind::kNotPython);
}

// A virtual environment made with --copies has its interpreters as copies, named python and
// python3: they are CPython 3.11 when their bytes are those of one.
TEST(PythonInterpreter, NamesAreMatchedAsByTheirPattern) {
  // The tracer cannot use std::regex between vfork and exec; the hand-written match must
  // agree with the pattern on names close to it.
  const std::regex pattern(R"(python(\d+(\.\d+)?)?[a-z]*(-dbg)?)");
  const char* names[] = {"python",       "python3",       "python3.11",    "python3.11d",  "python3.11-dbg",
                         "pythonw",      "python-dbg",    "python311",     "python3.",     "python3.x",
                         "python3.11.2", "python3.11-config", "python3-dbg-x", "python3.11D", "pytho",
                         "Python3",      "ipython3",      "python3 ",      "python3.11dm", "python-",
                         "python3..11",  "python.11",     "python3.11-dbgx", "pythonista-tool", ""};
  for (const char* name : names)
    EXPECT_EQ(IsPythonExecutableName(name), std::regex_match(name, pattern)) << name;
}

TEST(PythonBootstrap, CopiesOfTheInterpreterAreIt) {
  testing::TestDir dir;
  namespace fs = std::filesystem;
  const std::string copy = dir.path() + "/python3";
  fs::copy_file(PYCOV_PYTHON_EXECUTABLE, copy);
  EXPECT_EQ(ClassifyExecutable(copy), InterpreterKind::kMeasurablePython);
  EXPECT_EQ(ClassifyExecutable(copy, {}), InterpreterKind::kOtherPython);  // nothing to compare with

  // The same size, one byte changed: another build.
  const std::string changed = dir.path() + "/python";
  fs::copy_file(PYCOV_PYTHON_EXECUTABLE, changed);
  {
    std::fstream file(changed, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(-1, std::ios::end);
    const char last = char(file.get());
    file.seekp(-1, std::ios::end);
    file.put(char(last ^ 1));
  }
  EXPECT_EQ(fs::file_size(changed), fs::file_size(copy));
  EXPECT_EQ(ClassifyExecutable(changed), InterpreterKind::kOtherPython);
  fs::copy_file("/bin/true", dir.path() + "/python2");
  EXPECT_EQ(ClassifyExecutable(dir.path() + "/python2"), InterpreterKind::kOtherPython);

  // The program's own interpreter, when it is a CPython 3.11, is compared with too.
  const std::string renamed = dir.path() + "/python3.11";
  fs::copy_file(changed, renamed);
  const std::string copy_of_renamed = dir.path() + "/python3.12";
  fs::copy_file(changed, copy_of_renamed);
  InterpreterClassifier interpreters;
  EXPECT_EQ(interpreters.Classify(copy_of_renamed), InterpreterKind::kOtherPython);
  interpreters.AddInterpreter(changed);  // not one by name nor by bytes: ignored
  EXPECT_EQ(interpreters.Classify(copy_of_renamed), InterpreterKind::kOtherPython);
  interpreters.AddInterpreter(renamed);
  EXPECT_EQ(interpreters.Classify(copy_of_renamed), InterpreterKind::kMeasurablePython);
  EXPECT_EQ(interpreters.Classify(changed), InterpreterKind::kMeasurablePython);
}

TEST(PythonBootstrap, DecisionAtExec) {
  InterpreterClassifier classifier;
  sandbox::ExecRequest request;
  request.executable = "/usr/bin/python3";
  request.environment = {"PATH=/usr/bin"};
  auto verdict = DecideExec(request, kBootstrap, classifier);
  EXPECT_EQ(verdict.program_kind, "python");
  EXPECT_FALSE(verdict.instrumented);
  EXPECT_EQ(verdict.set_environment.size(), 2u);

  request.environment = WithBootstrap(request.environment, kBootstrap);
  verdict = DecideExec(request, kBootstrap, classifier);
  EXPECT_TRUE(verdict.instrumented);
  EXPECT_TRUE(verdict.set_environment.empty());

  // A nested pycov run owns its children.
  request.environment = {"PYCOV_RUN_DIR=/tmp/pycov-run-2"};
  verdict = DecideExec(request, kBootstrap, classifier);
  EXPECT_EQ(verdict.program_kind, "python");
  EXPECT_TRUE(verdict.set_environment.empty());

  request.executable = "/bin/sh";
  request.environment = {};
  verdict = DecideExec(request, kBootstrap, classifier);
  EXPECT_EQ(verdict.program_kind, "");
  EXPECT_TRUE(verdict.set_environment.empty());
}

TEST(PythonBootstrap, OptionsThatSkipTheBootstrap) {
  EXPECT_EQ(BootstrapSkippingOptions({"python3", "app.py", "-I"}), "");  // the program's own
  EXPECT_EQ(BootstrapSkippingOptions({"python3", "-I", "app.py"}), "I");
  EXPECT_EQ(BootstrapSkippingOptions({"python3", "-uIS", "app.py"}), "IS");
  EXPECT_EQ(BootstrapSkippingOptions({"python3", "-W", "ignore", "-E", "-c", "pass"}), "E");
  EXPECT_EQ(BootstrapSkippingOptions({"python3", "-Wignore", "-c", "-I"}), "");
  EXPECT_EQ(BootstrapSkippingOptions({"python3", "-m", "pytest", "-S"}), "");
  EXPECT_EQ(BootstrapSkippingOptions({"python3", "-X", "importtime", "app.py"}), "");
  EXPECT_EQ(BootstrapSkippingOptions({"python3", "--", "-I"}), "");
  EXPECT_EQ(BootstrapSkippingOptions({"python3", "-Ec", "-S"}), "E");
}

TEST(PythonBootstrap, OptionsThatOnlyPrint) {
  EXPECT_TRUE(RunsNoPythonCode({"python3", "-X", "faulthandler", "-I", "--version"}));
  EXPECT_TRUE(RunsNoPythonCode({"python3", "-IVV"}));
  EXPECT_TRUE(RunsNoPythonCode({"python3", "--help-env"}));
  EXPECT_FALSE(RunsNoPythonCode({"python3", "-I", "app.py", "--version"}));  // the program's own
  EXPECT_FALSE(RunsNoPythonCode({"python3", "-c", "pass", "-V"}));
  EXPECT_FALSE(RunsNoPythonCode({"python3", "-W", "V", "app.py"}));
  EXPECT_FALSE(RunsNoPythonCode({"python3", "-I"}));  // the interactive interpreter
}

TEST(PythonBootstrap, PythonSkippingTheBootstrapGetsTheStartUpPreloaded) {
  InterpreterClassifier classifier;
  sandbox::ExecRequest request;
  request.executable = "/usr/bin/python3";
  request.argv = {"python3", "-I", "child.py"};
  request.environment = WithBootstrap({"PATH=/usr/bin"}, kBootstrap);
  auto verdict = DecideExec(request, kBootstrap, classifier);
  EXPECT_TRUE(verdict.instrumented);  // nothing of the bootstrap's was taken away
  EXPECT_EQ(verdict.set_environment, std::vector<std::string>{"LD_PRELOAD=/opt/pycov/bootstrap/pycov_isolated_start.so"});

  // What the program preloads stays, after the start-up; lost variables come back too.
  request.argv = {"python3", "-E", "-c", "pass"};
  request.environment = {"LD_PRELOAD=libfaketime.so.1"};
  verdict = DecideExec(request, kBootstrap, classifier);
  EXPECT_FALSE(verdict.instrumented);
  ASSERT_EQ(verdict.set_environment.size(), 3u);
  EXPECT_EQ(verdict.set_environment[2], "LD_PRELOAD=/opt/pycov/bootstrap/pycov_isolated_start.so:libfaketime.so.1");

  request.environment = WithBootstrap({"LD_PRELOAD="}, kBootstrap);
  verdict = DecideExec(request, kBootstrap, classifier);
  EXPECT_EQ(verdict.set_environment, std::vector<std::string>{"LD_PRELOAD=/opt/pycov/bootstrap/pycov_isolated_start.so:"});

  // -S skips `site`, which imports the bootstrap: the start-up starts the tracer there too.
  request.argv = {"python3", "-S", "child.py"};
  request.environment = WithBootstrap({}, kBootstrap);
  EXPECT_EQ(DecideExec(request, kBootstrap, classifier).set_environment,
            std::vector<std::string>{"LD_PRELOAD=/opt/pycov/bootstrap/pycov_isolated_start.so"});

  // Nothing to preload where the bootstrap starts.
  request.argv = {"python3", "-u", "child.py", "-I"};
  EXPECT_TRUE(DecideExec(request, kBootstrap, classifier).set_environment.empty());

  // Only into the CPython the tracer is built for.
  request.executable = "/usr/bin/python2.7";
  request.argv = {"python2.7", "-E", "old.py"};
  EXPECT_TRUE(DecideExec(request, kBootstrap, classifier).set_environment.empty());
}

}  // namespace
}  // namespace pycov
