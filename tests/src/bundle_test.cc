#include "bug_report_bundle.h"

#include <gtest/gtest.h>

#include "digests.h"
#include "doctor_report.h"
#include "test_dir.h"

namespace pycov {
namespace {

TEST(Zip, MembersReadBackAsWritten) {
  testing::TestDir dir;
  const std::string path = dir.path() + "/b.zip";
  std::string binary("\0\x01\xff zip", 7);
  std::vector<BundleMember> members = {{"REPORT.md", "# report\n"}, {"observations/os.jsonl", "{}\n{}\n"},
                                       {"empty.txt", ""}, {"binary.bin", binary}};
  ASSERT_TRUE(WriteZip(path, members).ok());
  auto read = ReadZip(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), members.size());
  for (size_t i = 0; i < members.size(); ++i) {
    EXPECT_EQ((*read)[i].name, members[i].name);
    EXPECT_EQ((*read)[i].content, members[i].content);
  }
}

TEST(Zip, ANonZipIsAnErrorNamingTheFile) {
  testing::TestDir dir;
  const std::string path = dir.Write("not.zip", "this is not a zip archive");
  auto read = ReadZip(path);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find(path), std::string::npos);
  EXPECT_FALSE(ReadZip(dir.path() + "/missing.zip").ok());
}

TEST(Zip, AnUnwritablePlaceIsAnErrorAndLeavesNothing) {
  testing::TestDir dir;
  auto written = WriteZip(dir.path() + "/no/such/dir/b.zip", {{"a", "b"}});
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find("b.zip"), std::string::npos);
}

TEST(Sha256, KnownDigests) {
  ASSERT_TRUE(LoadDigests().ok());
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Md5Base64, CoveragePysLineChecksums) {
  ASSERT_TRUE(LoadDigests().ok());
  // base64 of MD5("") and of MD5("x = 1"), the padding taken off, as coverage.py's lcov writes them.
  EXPECT_EQ(Md5Base64(""), "1B2M2Y8AsgTpgAmY7PhCfg");
  EXPECT_EQ(Md5Base64("x = 1"), "03/8VLZ86N4fAe+x8uM2iQ");
}

TEST(GithubAnnotations, MessageAndPropertyEscaping) {
  EXPECT_EQ(EscapeAnnotationMessage("100% at a:1, then\nnext\r"), "100%25 at a:1, then%0Anext%0D");
  EXPECT_EQ(EscapeAnnotationProperty("dir, x/a:b%.py\n"), "dir%2C x/a%3Ab%25.py%0A");
}

TEST(RepositoryRoot, NearestDirectoryWithGit) {
  testing::TestDir dir;
  std::filesystem::create_directories(dir.path() + "/repo/.git");
  std::filesystem::create_directories(dir.path() + "/repo/sub/project");
  EXPECT_EQ(RepositoryRootOf(dir.path() + "/repo/sub/project"), dir.path() + "/repo");
  std::filesystem::create_directories(dir.path() + "/plain");
  // Outside any repository (the test directory is under /tmp) the directory itself.
  EXPECT_EQ(RepositoryRootOf(dir.path() + "/plain"), dir.path() + "/plain");
}

}  // namespace
}  // namespace pycov
