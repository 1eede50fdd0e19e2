#include <gtest/gtest.h>

#include "run_command.h"

namespace pycov {
namespace {

TEST(RunArguments, OptionsEndAtTheScript) {
  auto options = ParseRunArguments({"--branch", "--source", "src", "app.py", "--branch", "-m", "x"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_TRUE(options->branch);
  EXPECT_EQ(options->source_dirs, (std::vector<std::string>{"src"}));
  EXPECT_EQ(options->script, "app.py");
  EXPECT_EQ(options->program_args, (std::vector<std::string>{"--branch", "-m", "x"}));
}

TEST(RunArguments, ModuleTakesEverythingAfterIt) {
  auto options = ParseRunArguments({"--data-file=out.db", "-m", "pkg.main", "--help", "-v"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->data_file, "out.db");
  EXPECT_EQ(options->module, "pkg.main");
  EXPECT_FALSE(options->help);
  EXPECT_EQ(options->program_args, (std::vector<std::string>{"--help", "-v"}));
}

TEST(RunArguments, DoubleDashStartsTheProgram) {
  auto options = ParseRunArguments({"--omit", "a*,b*", "--", "-weird-name.py", "arg"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_EQ(options->omit_globs, (std::vector<std::string>{"a*", "b*"}));
  EXPECT_EQ(options->script, "-weird-name.py");
  EXPECT_EQ(options->program_args, (std::vector<std::string>{"arg"}));
}

TEST(RunArguments, ErrorsNameTheArgument) {
  auto unknown = ParseRunArguments({"--sauce", "x", "app.py"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("--sauce"), std::string::npos);
  auto no_value = ParseRunArguments({"--python"});
  ASSERT_FALSE(no_value.ok());
  EXPECT_NE(no_value.error().message.find("--python"), std::string::npos);
  EXPECT_FALSE(ParseRunArguments({}).ok());
  EXPECT_FALSE(ParseRunArguments({"-m"}).ok());
  EXPECT_FALSE(ParseRunArguments({"--branch", "--"}).ok());
}

}  // namespace
}  // namespace pycov

namespace pycov {
namespace {

TEST(RunArguments, CommandLineOverridesProjectDefaults) {
  ProjectConfig config;
  config.branch = true;
  config.omit = std::vector<std::string>{"*/tests/*"};
  config.source = std::vector<std::string>{"src"};
  config.data_file = "build/.coverage";
  auto options = ParseRunArguments({"--source", "lib", "--source", "more", "app.py"}, RunDefaultsFrom(config));
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_TRUE(options->branch);
  EXPECT_EQ(options->source_dirs, (std::vector<std::string>{"lib", "more"}));  // replaced, not added to
  EXPECT_EQ(options->omit_globs, (std::vector<std::string>{"*/tests/*"}));    // kept
  EXPECT_EQ(options->data_file, "build/.coverage");
}

}  // namespace
}  // namespace pycov
