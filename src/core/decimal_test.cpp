#include "core/decimal.hpp"

#include <gtest/gtest.h>

namespace avsync {
namespace {

std::string money(std::string_view text) {
  auto d = Decimal::parse(text, kMoney);
  return d ? d->to_string() : "error: " + d.error().message;
}

TEST(Decimal, NumbersAndStringsOfTheSameValueAreEqual) {
  EXPECT_EQ(money("150.5"), "150.50");
  EXPECT_EQ(money("150.50"), "150.50");
  EXPECT_EQ(money("150.500"), "150.50");  // trailing zeros are not precision
  EXPECT_EQ(money("1.505e2"), "150.50");
  EXPECT_EQ(money("15050E-2"), "150.50");
  EXPECT_EQ(money("0"), "0.00");
  EXPECT_EQ(money("-0"), "0.00");
  EXPECT_EQ(money("-3.1"), "-3.10");
  EXPECT_EQ(money(".5"), "0.50");
  EXPECT_EQ(money("999999999999.99"), "999999999999.99");
}

TEST(Decimal, ExtraDigitsAreAnErrorNeverRounded) {
  EXPECT_EQ(money("0.001"), "error: has more than 2 decimal places");
  EXPECT_EQ(money("1000000000000"), "error: has more than 12 integer digits");
  EXPECT_EQ(money("1e12"), "error: has more than 12 integer digits");
  auto q = Decimal::parse("1.2345", kQuantity);
  ASSERT_FALSE(q);
  EXPECT_EQ(Decimal::parse("1.234", kQuantity)->to_string(), "1.234");
}

TEST(Decimal, MalformedTextIsRejected) {
  for (const char* bad : {"", "-", ".", "abc", "1.2.3", "1e", "1e+", "0x10", "1,5", " 1", "1 ",
                          "NaN", "Infinity", "1e99999"})
    EXPECT_FALSE(Decimal::parse(bad, kMoney)) << bad;
}

TEST(Decimal, MultiplyRoundsHalfAwayFromZeroToTheTargetScale) {
  auto q = *Decimal::parse("1.333", kQuantity);
  auto p = *Decimal::parse("0.10", kMoney);
  EXPECT_EQ(q.multiply(p, kMoney)->to_string(), "0.13");
  auto half = *Decimal::parse("0.005", kQuantity);
  auto one = *Decimal::parse("1", kMoney);
  EXPECT_EQ(half.multiply(one, kMoney)->to_string(), "0.01");
  auto big = *Decimal::parse("999999999999", kQuantity);
  EXPECT_FALSE(big.multiply(*Decimal::parse("10", kMoney), kMoney));
}

}  // namespace
}  // namespace avsync
