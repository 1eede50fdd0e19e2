#include "python_bootstrap.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "test_dir.h"

namespace pycov {
namespace {

using pycov::testing::TestDir;

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

TEST(PythonBootstrap, InterpretersByNameAndByScriptLine) {
  TestDir dir;
  EXPECT_EQ(ClassifyExecutable("/usr/bin/python3"), InterpreterKind::kMeasurablePython);
  EXPECT_EQ(ClassifyExecutable("/usr/bin/python3.11"), InterpreterKind::kMeasurablePython);
  EXPECT_EQ(ClassifyExecutable("/bin/sh"), InterpreterKind::kNotPython);
  EXPECT_EQ(ClassifyExecutable(dir.Write("tool", "#!/usr/bin/python3 -u\nprint(1)\n")),
            InterpreterKind::kMeasurablePython);
  EXPECT_EQ(ClassifyExecutable(dir.Write("envtool", "#!/usr/bin/env python3\nprint(1)\n")),
            InterpreterKind::kMeasurablePython);
  EXPECT_EQ(ClassifyExecutable(dir.Write("old", "#!/usr/bin/env python2\nprint 1\n")), InterpreterKind::kOtherPython);
  EXPECT_EQ(ClassifyExecutable(dir.Write("shell", "#!/bin/sh\necho\n")), InterpreterKind::kNotPython);
  // A shim named like an interpreter that is really a shell script (pyenv).
  EXPECT_EQ(ClassifyExecutable(dir.Write("python3", "#!/usr/bin/env bash\nexec real\n")), InterpreterKind::kNotPython);
  EXPECT_EQ(ClassifyExecutable(dir.path() + "/missing"), InterpreterKind::kNotPython);
}

TEST(PythonBootstrap, TheClassifierNoticesAChangedFile) {
  TestDir dir;
  InterpreterClassifier classifier;
  std::string tool = dir.Write("tool", "#!/bin/sh\n");
  EXPECT_EQ(classifier.Classify(tool), InterpreterKind::kNotPython);
  dir.Write("tool", "#!/usr/bin/python3\nprint(1)\n");  // another size
  EXPECT_EQ(classifier.Classify(tool), InterpreterKind::kMeasurablePython);
}

TEST(PythonBootstrap, DecisionAtExec) {
  InterpreterClassifier classifier;
  sandbox::ExecRequest request;
  request.resolved_path = "/usr/bin/python3";
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

  request.resolved_path = "/bin/sh";
  request.environment = {};
  verdict = DecideExec(request, kBootstrap, classifier);
  EXPECT_EQ(verdict.program_kind, "");
  EXPECT_TRUE(verdict.set_environment.empty());
}

}  // namespace
}  // namespace pycov
