// A temporary directory removed at scope exit, for storage tests.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace streamrec::storage::testing {

class TempDir {
 public:
  // mkdtemp makes a directory no one else has: a name built from the pid
  // alone could meet a directory an earlier process with the same pid left
  // behind (a test killed mid-run, or one whose tmpfs mount outlived it),
  // and removing that one can fail or take what is not ours.
  TempDir() {
    static std::atomic<int> counter{0};
    std::string name = (std::filesystem::temp_directory_path() /
                        ("streamrec_test_" + std::to_string(getpid()) + "_" +
                         std::to_string(counter++) + "_XXXXXX"))
                           .string();
    if (mkdtemp(name.data()) == nullptr) {
      throw std::runtime_error("mkdtemp " + name + ": " + std::strerror(errno));
    }
    path_ = name;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace streamrec::storage::testing
