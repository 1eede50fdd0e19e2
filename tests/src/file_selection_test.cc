#include "file_selection.h"

#include <gtest/gtest.h>

namespace pycov {
namespace {

TEST(FileSelection, DefaultIsTheProjectMinusLibraries) {
  FileSelection s;
  s.project_roots = {"/work/app"};
  s.library_dirs = {"/usr/lib/python3.11"};
  s.pycov_dirs = {"/work/app/build/bootstrap"};
  EXPECT_TRUE(s.Selects("/work/app/main.py"));
  EXPECT_TRUE(s.Selects("/work/app/pkg/mod.py"));
  EXPECT_FALSE(s.Selects("/work/application.py"));  // a prefix is not a parent
  EXPECT_FALSE(s.Selects("/usr/lib/python3.11/os.py"));
  EXPECT_FALSE(s.Selects("/work/app/.venv/lib/python3.11/site-packages/six.py"));
  EXPECT_FALSE(s.Selects("relative.py"));
  EXPECT_FALSE(s.Selects("/work/app/build/bootstrap/sitecustomize.py"));
}

TEST(FileSelection, SourceOrIncludeMayChooseLibraryCode) {
  FileSelection s;
  s.library_dirs = {"/usr/lib/python3.11"};
  s.pycov_dirs = {"/opt/pycov/bootstrap"};
  s.source_dirs = {"/usr/lib/python3.11/json"};
  EXPECT_TRUE(s.Selects("/usr/lib/python3.11/json/decoder.py"));
  EXPECT_FALSE(s.Selects("/opt/pycov/bootstrap/sitecustomize.py"));
  s.source_dirs = {"/work/app"};
  EXPECT_FALSE(s.Selects("/work/app/.venv/lib/python3.11/site-packages/six.py"));
  s.source_dirs = {"/work/app/.venv/lib/python3.11/site-packages/six"};
  EXPECT_TRUE(s.Selects("/work/app/.venv/lib/python3.11/site-packages/six/moves.py"));
  s.source_dirs.clear();
  s.include_globs = {"/usr/lib/python3.11/difflib.py"};
  EXPECT_TRUE(s.Selects("/usr/lib/python3.11/difflib.py"));
}

TEST(FileSelection, SourceOverridesRootsAndOmitWins) {
  FileSelection s;
  s.project_roots = {"/work/app"};
  s.source_dirs = {"/work/app/pkg"};
  s.omit_globs = {"*/test_*.py"};
  EXPECT_TRUE(s.Selects("/work/app/pkg/mod.py"));
  EXPECT_FALSE(s.Selects("/work/app/main.py"));
  EXPECT_FALSE(s.Selects("/work/app/pkg/test_mod.py"));
}

TEST(FileSelection, IncludeGlobsMatchAcrossDirectories) {
  FileSelection s;
  s.include_globs = {AbsoluteGlob("src/*", "/work/app")};
  EXPECT_EQ(s.include_globs[0], "/work/app/src/*");
  EXPECT_TRUE(s.Selects("/work/app/src/deep/x.py"));  // * crosses '/' as in coverage.py
  EXPECT_FALSE(s.Selects("/work/app/tests/x.py"));
}

}  // namespace
}  // namespace pycov
