#include "numbits.h"

#include <vector>

#include <gtest/gtest.h>

namespace pycov {
namespace {

TEST(Numbits, EncodesAsCoverageDoes) {
  // coverage.numbits.nums_to_numbits([1, 2, 3, 9]) == b'\x0e\x02'
  EXPECT_EQ(NumsToNumbits({1, 2, 3, 9}), std::string("\x0e\x02", 2));
  EXPECT_EQ(NumsToNumbits(std::set<int32_t>{}), "");
  EXPECT_EQ(NumsToNumbits({0}), std::string("\x01", 1));
}

TEST(Numbits, IgnoresNegativeNumbers) { EXPECT_EQ(NumsToNumbits({-3, 7}), std::string("\x80", 1)); }

TEST(Numbits, RoundTrips) {
  std::set<int32_t> nums = {1, 8, 15, 16, 17, 255, 1000, 65535};
  EXPECT_EQ(NumbitsToNums(NumsToNumbits(nums)), nums);
  // Sorted vectors (the line origins) encode as sets do.
  const std::vector<int32_t> sorted(nums.begin(), nums.end());
  EXPECT_EQ(NumsToNumbits(sorted), NumsToNumbits(nums));
}

TEST(Numbits, DecodesTrailingZeroBytes) {
  EXPECT_EQ(NumbitsToNums(std::string("\x02\x00\x00", 3)), (std::set<int32_t>{1}));
}

}  // namespace
}  // namespace pycov
