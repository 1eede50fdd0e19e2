// MD5 (RFC 1321), for the line checksums of lcov reports, which coverage.py writes and
// genhtml can check. Not for anything that needs a secure hash.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace pycov {

std::array<uint8_t, 16> Md5(std::string_view data);

/// Base64 (RFC 4648, with + and /), without the trailing '=' padding.
std::string Base64WithoutPadding(const uint8_t* data, size_t size);

}  // namespace pycov
