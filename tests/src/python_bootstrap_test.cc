#include "python_bootstrap.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>


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

}  // namespace
}  // namespace pycov
