#include "core/error.hpp"

#include <gtest/gtest.h>

#include <set>

namespace avsync {
namespace {

// Every code has its own spelling and reads back from it (the client stores codes by
// name), except route_not_found, which the wire spells as not_found's NOT_FOUND.
TEST(ErrorCodes, EveryCodeReadsBackFromItsName) {
  std::set<std::string_view> spellings;
  for (int i = 0; i <= static_cast<int>(kLastErrorCode); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    const std::string_view name = to_wire(code);
    ASSERT_FALSE(name.empty());
    if (code == ErrorCode::route_not_found) {
      EXPECT_EQ(name, "NOT_FOUND");
      continue;
    }
    EXPECT_TRUE(spellings.insert(name).second) << name << " spells two codes";
    ASSERT_TRUE(error_code_from_name(name)) << name;
    EXPECT_EQ(*error_code_from_name(name), code) << name;
  }
  EXPECT_EQ(to_wire(ErrorCode::tls_failure), "TLS_FAILURE");
  EXPECT_EQ(*error_code_from_name("TLS_FAILURE"), ErrorCode::tls_failure);
}

// Only the protocol's codes are read from a server's answer: a server cannot make the
// client believe it is offline.
TEST(ErrorCodes, AServerCannotSpeakAClientOnlyCode) {
  for (std::string_view name : {"NETWORK", "TIMEOUT", "TLS_FAILURE", "LOCAL_STORAGE", "NOT_CONFIGURED"}) {
    EXPECT_FALSE(error_code_from_wire(name)) << name;
  }
  EXPECT_EQ(*error_code_from_wire("VALIDATION_ERROR"), ErrorCode::validation_error);
}

}  // namespace
}  // namespace avsync
