#include "core/timestamp.hpp"

#include <gtest/gtest.h>

namespace avsync {
namespace {

std::string normalize(std::string_view text) {
  auto t = parse_timestamp(text);
  return t ? format_timestamp(*t) : "error";
}

TEST(Timestamp, OffsetsAreNormalisedToUtcWithMilliseconds) {
  EXPECT_EQ(normalize("2026-11-25T08:00:00.000Z"), "2026-11-25T08:00:00.000Z");
  EXPECT_EQ(normalize("2026-11-25T03:00:00-05:00"), "2026-11-25T08:00:00.000Z");
  EXPECT_EQ(normalize("2026-11-25T09:30:00.5+0130"), "2026-11-25T08:00:00.500Z");
  EXPECT_EQ(normalize("2026-11-25t08:00:00.123456z"), "2026-11-25T08:00:00.123Z");
  EXPECT_EQ(normalize("2026-11-25 08:00Z"), "2026-11-25T08:00:00.000Z");
  EXPECT_EQ(normalize("2026-01-01T00:30:00+01:00"), "2025-12-31T23:30:00.000Z");
  EXPECT_EQ(normalize("2024-02-29T12:00:00Z"), "2024-02-29T12:00:00.000Z");
  EXPECT_EQ(normalize("1969-12-31T23:59:59.999Z"), "1969-12-31T23:59:59.999Z");
}

TEST(Timestamp, InvalidOrAmbiguousTextIsRejected) {
  for (const char* bad : {"", "2026-11-25", "2026-11-25T08:00:00", "2026-13-01T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25T08:60Z",
                          "2026-11-25T08:00:00+25:00", "2026-11-25T08:00:00Zjunk",
                          "yesterday", "0000-01-01T00:00:00Z", "2026-11-25T08:00:00.Z"})
    EXPECT_EQ(normalize(bad), "error") << bad;
}

TEST(Timestamp, FormattedTextSortsInTimeOrder) {
  EXPECT_LT(format_timestamp(999), format_timestamp(1000));
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace avsync
