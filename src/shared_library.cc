#include "shared_library.h"

#include <dlfcn.h>

#include <filesystem>

namespace pycov {

Result<SharedLibrary> SharedLibrary::Open(const std::string& name) {
  // RTLD_LOCAL: its symbols serve only what binds them here. RTLD_NOW: a library that cannot
  // be bound fails here, once, not at some later call.
  void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = dlerror();
    std::string why = reason != nullptr ? reason : "unknown error";
    if (why.rfind(name + ": ", 0) == 0) why.erase(0, name.size() + 2);  // dlerror names it too
    return Error{"cannot load " + name + ": " + why};
  }
  return SharedLibrary(handle, name);
}

Result<void*> SharedLibrary::Symbol(const char* name) const {
  dlerror();  // a symbol may be null: only dlerror() tells that it was not found
  void* symbol = dlsym(handle_, name);
  if (const char* why = dlerror(); why != nullptr)
    return Error{"cannot load " + name_ + ": no " + name + " (" + why + ")"};
  return symbol;
}

std::string OwnExecutableDirectory() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::canonical("/proc/self/exe", error);
  return error ? std::string() : self.parent_path().string();
}

}  // namespace pycov
