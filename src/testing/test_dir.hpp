#pragma once
// For unit tests: a fresh directory per test (<tmp>/avsync-<pid>-<test name>), removed when
// the test's fixture is destroyed. Declare it before the members that keep files open in it.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace avsync::testing {

class TestDir {
 public:
  TestDir()
      : path_(std::filesystem::temp_directory_path() /
              ("avsync-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TestDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace avsync::testing
