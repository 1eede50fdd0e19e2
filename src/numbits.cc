#include "numbits.h"

namespace pycov {

namespace {

template <class Nums>
std::string Encode(const Nums& nums) {
  std::string bytes;
  for (int32_t n : nums) {
    if (n < 0) continue;
    size_t byte = size_t(n) / 8;
    if (bytes.size() <= byte) bytes.resize(byte + 1, '\0');
    bytes[byte] = char(uint8_t(bytes[byte]) | (1u << (n % 8)));
  }
  return bytes;
}

}  // namespace

std::string NumsToNumbits(const std::set<int32_t>& nums) { return Encode(nums); }
std::string NumsToNumbits(std::span<const int32_t> nums) { return Encode(nums); }

std::set<int32_t> NumbitsToNums(const std::string& numbits) {
  std::set<int32_t> nums;
  for (size_t byte = 0; byte < numbits.size(); ++byte) {
    uint8_t b = uint8_t(numbits[byte]);
    for (int bit = 0; bit < 8; ++bit)
      if (b & (1u << bit)) nums.insert(int32_t(byte * 8 + bit));
  }
  return nums;
}

}  // namespace pycov
