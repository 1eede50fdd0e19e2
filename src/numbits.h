// coverage.py's numbits encoding of a set of line numbers: bit N%8 of byte N/8 is set for
// line N, trailing zero bytes dropped (coverage/numbits.py).
#pragma once

#include <cstdint>
#include <set>
#include <span>
#include <string>

namespace pycov {

/// Encodes non-negative line numbers, from a set or a sorted span; negative ones are ignored.
std::string NumsToNumbits(const std::set<int32_t>& nums);
std::string NumsToNumbits(std::span<const int32_t> nums);

/// Decodes a numbits blob.
std::set<int32_t> NumbitsToNums(const std::string& numbits);

}  // namespace pycov
