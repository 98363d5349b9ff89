#include "core/cursor.hpp"

#include <gtest/gtest.h>

namespace avsync {
namespace {

TEST(Cursor, RoundTrips) {
  for (std::uint64_t v : {0ull, 1ull, 42ull, 9223372036854775807ull})
    EXPECT_EQ(decode_cursor(encode_cursor(v)), v);
}

TEST(Cursor, AnythingElseIsMalformed) {
  for (const char* bad : {"", "v1.", "v1.-1", "v1.01", "v1.1x", "v2.5", "5", "v1.99999999999999999999",
                          "v1.9223372036854775808", "2026-11-25T08:00:00Z"})
    EXPECT_FALSE(decode_cursor(bad)) << bad;
}

}  // namespace
}  // namespace avsync
