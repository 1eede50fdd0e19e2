#include "shared_library.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace pycov {
namespace {

TEST(SharedLibrary, BindsAFunctionThatCallsTheLibrary) {
  auto libc = SharedLibrary::Open("libc.so.6");
  ASSERT_TRUE(libc.ok()) << libc.error().message;
  decltype(&::getpid) own_pid = nullptr;
  ASSERT_TRUE(libc->Bind("getpid", own_pid).ok());
  ASSERT_NE(own_pid, nullptr);
  EXPECT_EQ(own_pid(), getpid());
}

TEST(SharedLibrary, AMissingLibraryIsAnErrorNamingIt) {
  auto missing = SharedLibrary::Open("libpycov-no-such-library.so.7");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot load libpycov-no-such-library.so.7: "), std::string::npos)
      << missing.error().message;
}

TEST(SharedLibrary, AMissingSymbolIsAnErrorNamingItAndTheLibrary) {
  auto libc = SharedLibrary::Open("libc.so.6");
  ASSERT_TRUE(libc.ok()) << libc.error().message;
  void (*function)() = nullptr;
  Status bound = libc->Bind("pycov_no_such_function", function);
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.error().message.find("cannot load libc.so.6: no pycov_no_such_function"), std::string::npos)
      << bound.error().message;
  EXPECT_EQ(function, nullptr);
}

}  // namespace
}  // namespace pycov
