#pragma once
// Exact fixed-point decimals for money (scale 2) and quantities (scale 3).
// No binary floating point anywhere: values are parsed from their text and kept as a
// scaled 64-bit integer (12 integer + 3 fractional digits fit comfortably).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace avsync {

struct DecimalKind {
  int integer_digits;   // at most this many digits before the point
  int fraction_digits;  // scale: at most this many significant digits after it
};
inline constexpr DecimalKind kMoney{12, 2};
inline constexpr DecimalKind kQuantity{12, 3};

class Decimal {
 public:
  // Parses "150.5", "-3", "1.50e2" (JSON number text) or the same as a string.
  // Digits beyond the kind's limits are a validation error (never rounded); trailing
  // fractional zeros are not digits of precision ("150.500" is money 150.50).
  static Result<Decimal> parse(std::string_view text, DecimalKind kind);

  std::int64_t units() const { return units_; }  // value * 10^scale
  int scale() const { return scale_; }
  int sign() const { return units_ < 0 ? -1 : (units_ > 0 ? 1 : 0); }

  // Canonical text with exactly `scale` fractional digits: "150.50", "-0.125".
  std::string to_string() const;

  // this * other, rounded half away from zero to `scale`; fails past kind's digits.
  Result<Decimal> multiply(const Decimal& other, DecimalKind kind) const;

  friend bool operator==(const Decimal&, const Decimal&) = default;

 private:
  Decimal(std::int64_t units, int scale) : units_(units), scale_(scale) {}
  std::int64_t units_ = 0;
  int scale_ = 0;
};

}  // namespace avsync
