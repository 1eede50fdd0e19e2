#include "project_config.h"

#include <gtest/gtest.h>

#include "test_dir.h"

namespace pycov {
namespace {

using pycov::testing::TestDir;

TEST(ProjectConfig, ReadsToolPycov) {
  TestDir dir;
  std::string path = dir.Write("pyproject.toml",
                               "[project]\nname = 'x'\n\n[tool.pycov]\nbranch = true\nsource = 'src'\n"
                               "omit = ['*/tests/*', '*/conftest.py']\ndata_file = 'out/.coverage'\n");
  auto config = ReadProjectConfig(path);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->branch, true);
  EXPECT_EQ(config->source, (std::vector<std::string>{"src"}));
  EXPECT_EQ(config->omit, (std::vector<std::string>{"*/tests/*", "*/conftest.py"}));
  EXPECT_EQ(config->data_file, "out/.coverage");
  EXPECT_FALSE(config->python.has_value());
}

TEST(ProjectConfig, MissingFileOrTableIsEmpty) {
  TestDir dir;
  EXPECT_TRUE(ReadProjectConfig(dir.path() + "/pyproject.toml").ok());
  auto config = ReadProjectConfig(dir.Write("pyproject.toml", "[tool.black]\nline-length = 99\n"));
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->branch.has_value());
}

TEST(ProjectConfig, ErrorsNameFileLineAndSetting) {
  TestDir dir;
  auto wrong_type = ReadProjectConfig(dir.Write("a.toml", "[tool.pycov]\n\nbranch = 'yes'\n"));
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.error().message.find("a.toml:3"), std::string::npos) << wrong_type.error().message;
  EXPECT_NE(wrong_type.error().message.find("branch"), std::string::npos);

  auto unknown = ReadProjectConfig(dir.Write("b.toml", "[tool.pycov]\nbrnach = true\n"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("b.toml:2"), std::string::npos) << unknown.error().message;
  EXPECT_NE(unknown.error().message.find("brnach"), std::string::npos);

  auto syntax = ReadProjectConfig(dir.Write("c.toml", "[tool.pycov]\nbranch = \n"));
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.error().message.find("c.toml:2"), std::string::npos) << syntax.error().message;

  auto list = ReadProjectConfig(dir.Write("d.toml", "[tool.pycov]\nomit = ['a', 3]\n"));
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.error().message.find("omit"), std::string::npos);
}

}  // namespace
}  // namespace pycov
