#include "run_config.h"

#include <gtest/gtest.h>

namespace pycov {
namespace {

TEST(RunConfig, SerializesAndParsesBack) {
  RunConfig config;
  config.branch = true;
  FileSelection& s = config.selection;
  s.source_dirs = {"/a"};
  s.include_globs = {"*/x*"};
  s.omit_globs = {"/b/*"};
  s.project_roots = {"/c"};
  s.library_dirs = {"/usr/lib/python3.11"};
  s.pycov_dirs = {"/opt/pycov/bootstrap"};
  config.exec_pass = 0xfedcba9876543210;
  config.bootstrap_dir = "/opt/pycov/bootstrap";
  RunConfig back = RunConfig::Parse(config.Serialize() + "unknown=ignored\n");
  EXPECT_TRUE(back.branch);
  EXPECT_EQ(back.selection.source_dirs, s.source_dirs);
  EXPECT_EQ(back.selection.include_globs, s.include_globs);
  EXPECT_EQ(back.selection.omit_globs, s.omit_globs);
  EXPECT_EQ(back.selection.project_roots, s.project_roots);
  EXPECT_EQ(back.selection.library_dirs, s.library_dirs);
  EXPECT_EQ(back.selection.pycov_dirs, s.pycov_dirs);
  EXPECT_EQ(back.exec_pass, 0xfedcba9876543210);
  EXPECT_EQ(back.bootstrap_dir, "/opt/pycov/bootstrap");
  EXPECT_EQ(RunConfig::Parse("branch=1\n").exec_pass, 0u);  // none: every exec waits
  EXPECT_FALSE(RunConfig::Parse("branch=0\n").branch);
}

}  // namespace
}  // namespace pycov
