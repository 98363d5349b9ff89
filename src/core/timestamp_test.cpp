#include "core/timestamp.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

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

// The feed's formatter writes digits itself: it must agree with the printf reference at every
// boundary (epoch, leap days, the first and last instants parse_timestamp accepts) and at
// instants spread over the whole range.
TEST(Timestamp, TheBufferFormatterWritesWhatPrintfWrites) {
  auto reference = [](UnixMillis ms) {
    std::int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    std::int64_t rest = ms - days * 86400000;
    // Howard Hinnant's civil_from_days, independent of the code under test.
    std::int64_t z = days + 719468;
    std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    std::int64_t doe = z - era * 146097;
    std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    std::int64_t mp = (5 * doy + 2) / 153;
    std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
    std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    std::int64_t y = yoe + era * 400 + (m <= 2);
    char buf[128];
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                  static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                  static_cast<long long>(rest / 3600000), static_cast<long long>(rest / 60000 % 60),
                  static_cast<long long>(rest / 1000 % 60), static_cast<long long>(rest % 1000));
    return std::string(buf);
  };
  const UnixMillis first = *parse_timestamp("0001-01-01T00:00:00.000Z");
  const UnixMillis last = *parse_timestamp("9999-12-31T23:59:59.999Z");
  std::vector<UnixMillis> instants{0,
                                   -1,
                                   1,
                                   999,
                                   86399999,
                                   86400000,
                                   first,
                                   last,
                                   *parse_timestamp("2024-02-29T23:59:59.999Z"),
                                   *parse_timestamp("2000-03-01T00:00:00.000Z"),
                                   *parse_timestamp("1969-12-31T23:59:59.999Z")};
  for (UnixMillis ms = first; ms < last; ms += 9876543210987LL / 1000) instants.push_back(ms);
  for (UnixMillis ms : instants) {
    char buf[kTimestampBufferSize];
    EXPECT_EQ(format_timestamp(ms, buf), reference(ms)) << ms;
    EXPECT_EQ(format_timestamp(ms), reference(ms)) << ms;
  }
  EXPECT_EQ(format_timestamp(first), "0001-01-01T00:00:00.000Z");
  EXPECT_EQ(format_timestamp(last), "9999-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace avsync
