#include "server/admin_api.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "testing/test_dir.hpp"

namespace avsync::server {
namespace {

using avsync::testing::TestDir;

class AdminCredentialTest : public ::testing::Test {
 protected:
  Result<std::string> load(const std::string& text) {
    std::ofstream(dir_.file("admin-token"), std::ios::binary) << text;
    return load_admin_credential(dir_.file("admin-token"));
  }
  TestDir dir_;
};

TEST_F(AdminCredentialTest, AFileFromOpensslRandIsTakenWithoutItsNewline) {
  auto credential = load("q3Vx8+Lk/2sT1uYp0ZbNc4Md6Fh7Jg5Ke2Qw8RtYa0E=\n");
  ASSERT_TRUE(credential) << credential.error().message;
  EXPECT_EQ(*credential, "q3Vx8+Lk/2sT1uYp0ZbNc4Md6Fh7Jg5Ke2Qw8RtYa0E=");
}

TEST_F(AdminCredentialTest, ShortUnusableOrUnreadableCredentialsStopTheStartSayingWhy) {
  EXPECT_NE(load(std::string(31, 'a')).error().message.find("at least 32 characters"), std::string::npos);
  EXPECT_NE(load("").error().message.find("at least 32 characters"), std::string::npos);
  // Characters a bearer token cannot carry would load and then never match a request.
  for (const std::string& bad : {std::string(32, 'a') + "!", std::string(32, 'a') + "#x", "pass word" + std::string(32, 'a'),
                                std::string(32, 'a') + "\xc3\xb1"})
    EXPECT_NE(load(bad).error().message.find("may hold only"), std::string::npos) << bad;
  auto missing = load_admin_credential(dir_.file("nowhere"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find(dir_.file("nowhere")), std::string::npos);
}

}  // namespace
}  // namespace avsync::server
