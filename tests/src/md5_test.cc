#include "md5.h"

#include <gtest/gtest.h>

#include <string>

namespace pycov {
namespace {

std::string Hex(const std::array<uint8_t, 16>& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t byte : digest) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 15]);
  }
  return out;
}

TEST(Md5, GivesTheDigestsOfRfc1321sTestSuite) {
  EXPECT_EQ(Hex(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Hex(Md5("a")), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(Hex(Md5("abc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(Hex(Md5("message digest")), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(Hex(Md5("abcdefghijklmnopqrstuvwxyz")), "c3fcd3d76192e4007dfb496cca67e13b");
  std::string digits;
  for (int i = 0; i < 8; ++i) digits += "1234567890";
  EXPECT_EQ(Hex(Md5(digits)), "57edf4a22be3c955ac49da2e2107b67a");
}

// Where the padding takes one block or two (Python's hashlib gave the digests).
TEST(Md5, PadsAtEveryBoundaryOfABlock) {
  const std::pair<size_t, const char*> cases[] = {
      {55, "04364420e25c512fd958a70738aa8f72"}, {56, "668a72d5ba17f08e62dabcafad6db14b"},
      {63, "7dc2ca208106a2f703567bdff99d8981"}, {64, "c1bb4f81d892b2d57947682aeb252456"},
      {65, "1bc932052302d074bdec39795fe00cf6"}, {119, "ab347a5f68c8a443cfcddc633f12c24f"},
      {120, "fb98667f98096de92620b64f46e1c5b5"}};
  for (const auto& [size, digest] : cases) EXPECT_EQ(Hex(Md5(std::string(size, 'x'))), digest) << size;
}

TEST(Md5, Base64DropsThePadding) {
  auto encode = [](const std::string& text) {
    return Base64WithoutPadding(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  };
  EXPECT_EQ(encode("a"), "YQ");
  EXPECT_EQ(encode("ab"), "YWI");
  EXPECT_EQ(encode("abc"), "YWJj");
  const auto digest = Md5("    return total");
  EXPECT_EQ(Base64WithoutPadding(digest.data(), digest.size()), "1scISq1C9IiG13gyGfpz9w");
}

}  // namespace
}  // namespace pycov
