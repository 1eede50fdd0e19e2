#include "digests.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "exit_codes.h"
#include "shared_library.h"

namespace pycov {
namespace {

struct LibCrypto {
  decltype(&::EVP_Digest) EVP_Digest = nullptr;
  decltype(&::EVP_sha256) EVP_sha256 = nullptr;
  decltype(&::EVP_md5) EVP_md5 = nullptr;
  decltype(&::EVP_EncodeBlock) EVP_EncodeBlock = nullptr;
};

const Result<LibCrypto>& LoadedLibCrypto() {
  static const Result<LibCrypto> loaded = []() -> Result<LibCrypto> {
    auto library = SharedLibrary::Open(PYCOV_LIBCRYPTO_SONAME);
    if (!library) return library.error();
    LibCrypto functions;
    for (Status bound : {library->Bind("EVP_Digest", functions.EVP_Digest), library->Bind("EVP_sha256", functions.EVP_sha256),
                         library->Bind("EVP_md5", functions.EVP_md5),
                         library->Bind("EVP_EncodeBlock", functions.EVP_EncodeBlock)})
      if (!bound) return bound.error();
    return functions;
  }();
  return loaded;
}

// The digests' callers render text and have no error to return: every command that reaches
// them called LoadDigests() first. Should one not have, a libcrypto that cannot be loaded ends
// pycov as the dynamic loader would have ended it at start, with the reason.
const LibCrypto& Crypto() {
  const Result<LibCrypto>& loaded = LoadedLibCrypto();
  if (!loaded) {
    fmt::print(stderr, "pycov: error: {}\n", loaded.error().message);
    std::exit(kExitPycovFailed);
  }
  return loaded.value();
}

std::string Digest(const LibCrypto& crypto, std::string_view data, const EVP_MD* algorithm) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  crypto.EVP_Digest(data.data(), data.size(), digest, &length, algorithm, nullptr);
  return std::string(reinterpret_cast<char*>(digest), length);
}

}  // namespace

Status LoadDigests() {
  const Result<LibCrypto>& loaded = LoadedLibCrypto();
  if (!loaded) return loaded.error();
  return Ok();
}

std::string Sha256Hex(std::string_view data) {
  const LibCrypto& crypto = Crypto();
  std::string hex;
  for (unsigned char byte : Digest(crypto, data, crypto.EVP_sha256())) hex += fmt::format("{:02x}", byte);
  return hex;
}

std::string Md5Base64(std::string_view data) {
  const LibCrypto& crypto = Crypto();
  const std::string digest = Digest(crypto, data, crypto.EVP_md5());
  unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int length = crypto.EVP_EncodeBlock(encoded, reinterpret_cast<const unsigned char*>(digest.data()), int(digest.size()));
  std::string text(reinterpret_cast<char*>(encoded), size_t(length));
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

}  // namespace pycov
