// Digests computed by libcrypto, which pycov opens when first needed (shared_library.h): loading
// it at pycov's start cost every command, `pycov run` included, about 1.5 ms, though only the
// doctor's CI formats and bundles and the lcov report use it.
#pragma once

#include <string>
#include <string_view>

#include "result.h"

namespace pycov {

/// Opens libcrypto for the digests below, once; the error names the library. A command that
/// will digest calls it before its work, so that a libcrypto that cannot be loaded stops it
/// there, with nothing done.
Status LoadDigests();

/// Hex SHA-256 of `data`. LoadDigests() must have succeeded.
std::string Sha256Hex(std::string_view data);

/// The MD5 of `data` in base64, without the padding (coverage.py's lcov line checksum).
/// LoadDigests() must have succeeded.
std::string Md5Base64(std::string_view data);

}  // namespace pycov
