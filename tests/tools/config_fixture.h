// A fixture for LoadConfig tests: each test writes its config text to its
// own temporary file and loads it.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

#include "tools/config/config.h"

namespace streamrec::tools::testing {

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = (std::filesystem::temp_directory_path() / fmt::format("streamrec_config_{}_{}_{}.conf",
                                                                  getpid(), info->test_suite_name(),
                                                                  info->name()))
                .string();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  StatusOr<Config> Load(const std::string& text) {
    std::ofstream(path_, std::ios::trunc) << text;
    return LoadConfig(path_);
  }
  // Expects `text` refused with a message naming the file and every needle.
  void ExpectError(const std::string& text, std::initializer_list<std::string> needles) {
    StatusOr<Config> c = Load(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << text;
    const std::string msg(c.status().message());
    EXPECT_NE(msg.find(path_), std::string::npos) << msg;
    for (const std::string& n : needles) {
      EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
    }
  }

  std::string path_;
};

}  // namespace streamrec::tools::testing
