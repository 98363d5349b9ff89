#include "core/ids.hpp"

#include <gtest/gtest.h>

namespace avsync {
namespace {

TEST(Ids, UuidsAreCaseInsensitiveAndReturnedLowerCase) {
  EXPECT_EQ(normalize_uuid("6F1C2A3B-0000-4000-8000-00000000ABCD"),
            "6f1c2a3b-0000-4000-8000-00000000abcd");
  EXPECT_FALSE(normalize_uuid("6f1c2a3b00004000800000000000abcd"));
  EXPECT_FALSE(normalize_uuid("6f1c2a3b-0000-4000-8000-00000000abcg"));
  EXPECT_FALSE(normalize_uuid("{6f1c2a3b-0000-4000-8000-00000000abc}"));
  EXPECT_FALSE(normalize_uuid(""));
}

TEST(Ids, V4FormattingSetsVersionAndVariant) {
  std::array<std::uint8_t, 16> bytes;
  bytes.fill(0xff);
  std::string id = format_uuid_v4(bytes);
  EXPECT_EQ(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
  EXPECT_TRUE(normalize_uuid(id));
}

TEST(Ids, LengthsCountCodePointsNotBytes) {
  EXPECT_EQ(count_code_points("Ana"), 3u);
  EXPECT_EQ(count_code_points("Peña"), 4u);
  EXPECT_EQ(count_code_points("\xF0\x9F\x98\x80"), 1u);  // one emoji, four bytes
}

}  // namespace
}  // namespace avsync
