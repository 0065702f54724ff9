// Shared by the libFuzzer targets in tests/fuzz: the input as text, and
// invariant checks. assert() says nothing about why and vanishes under
// NDEBUG; a failed FUZZ_CHECK prints what it expected and aborts, which
// libFuzzer reports as a crash and saves as an artifact.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace streamrec::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void CheckFailed(const char* condition, const char* file, int line,
                                     const std::string& why) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", file, line, condition, why.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace streamrec::fuzz

// FUZZ_CHECK(cond, "fmt {}", args...): the message says what held instead.
#define FUZZ_CHECK(cond, ...)                                                              \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      ::streamrec::fuzz::CheckFailed(#cond, __FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
    }                                                                                      \
  } while (0)
