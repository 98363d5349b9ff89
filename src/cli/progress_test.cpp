#include "cli/progress.hpp"

#include <gtest/gtest.h>

namespace avsync::cli {
namespace {

using namespace std::chrono_literals;
using Clock = ProgressLine::Clock;

TEST(CliProgressTest, CountsAreWrittenWithThousandsSeparators) {
  EXPECT_EQ(with_thousands(0), "0");
  EXPECT_EQ(with_thousands(999), "999");
  EXPECT_EQ(with_thousands(1000), "1,000");
  EXPECT_EQ(with_thousands(123456), "123,456");
  EXPECT_EQ(with_thousands(1234567), "1,234,567");
}

TEST(CliProgressTest, TheLineShowsRowsPulledAndTheRateOverTheRunSoFar) {
  EXPECT_EQ(format_progress(0, 500000, 2s), "pulled 500,000 rows, 250,000 rows/s");
  EXPECT_EQ(format_progress(0, 10000, 0s), "pulled 10,000 rows, 0 rows/s");
}

TEST(CliProgressTest, PushedOperationsAreShownOnceThereAreAny) {
  EXPECT_EQ(format_progress(1200, 0, 1s), "pushed 1,200, pulled 0 rows, 0 rows/s");
}

TEST(CliProgressTest, NothingIsShownBeforeAnythingMoved) {
  const Clock::time_point start{};
  ProgressLine line(start);
  EXPECT_EQ(line.update(0, 0, start + 1s), "");
  EXPECT_EQ(line.clear(), "");
}

TEST(CliProgressTest, TheLineIsRewrittenInPlaceAtMostOnceAnInterval) {
  const Clock::time_point start{};
  ProgressLine line(start);
  EXPECT_EQ(line.update(0, 10000, start + 1s), "\rpulled 10,000 rows, 10,000 rows/s");
  EXPECT_EQ(line.update(0, 20000, start + 1s + ProgressLine::kInterval - 1ms), "");
  EXPECT_EQ(line.update(0, 30000, start + 1s + ProgressLine::kInterval),
            "\rpulled 30,000 rows, 24,000 rows/s");
}

TEST(CliProgressTest, AShorterLineCoversTheRestOfTheLongerOneWithSpaces) {
  const Clock::time_point start{};
  ProgressLine line(start);
  const std::string first =
      line.update(0, 1000000, start + 1s);  // "pulled 1,000,000 rows, 1,000,000 rows/s"
  const std::string second =
      line.update(0, 1000001, start + 10s);  // "pulled 1,000,001 rows, 100,000 rows/s"
  EXPECT_EQ(second, "\rpulled 1,000,001 rows, 100,000 rows/s  ");
  EXPECT_EQ(second.size(), first.size());
}

TEST(CliProgressTest, ClearingBlanksTheWholeLineAndReturnsToItsStart) {
  const Clock::time_point start{};
  ProgressLine line(start);
  const std::string shown = line.update(0, 5, start + 1s);
  EXPECT_EQ(line.clear(), "\r" + std::string(shown.size() - 1, ' ') + "\r");
}

}  // namespace
}  // namespace avsync::cli
