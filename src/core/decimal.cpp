#include "core/decimal.hpp"

#include <cctype>

namespace avsync {
namespace {

constexpr std::int64_t pow10(int n) {
  std::int64_t r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

Result<Decimal> Decimal::parse(std::string_view text, DecimalKind kind) {
  auto bad = [&] { return validation_error("must be a decimal number"); };
  if (text.empty() || text.size() > 64) return bad();
  bool negative = false;
  if (text.front() == '-' || text.front() == '+') {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  // Split mantissa and exponent.
  long exponent = 0;
  if (auto e = text.find_first_of("eE"); e != std::string_view::npos) {
    std::string_view exp = text.substr(e + 1);
    bool exp_negative = false;
    if (!exp.empty() && (exp.front() == '-' || exp.front() == '+')) {
      exp_negative = exp.front() == '-';
      exp.remove_prefix(1);
    }
    if (!all_digits(exp) || exp.size() > 4) return bad();
    for (char c : exp) exponent = exponent * 10 + (c - '0');
    if (exp_negative) exponent = -exponent;
    text = text.substr(0, e);
  }
  std::string_view int_part = text, frac_part;
  if (auto dot = text.find('.'); dot != std::string_view::npos) {
    int_part = text.substr(0, dot);
    frac_part = text.substr(dot + 1);
    if (!frac_part.empty() && !all_digits(frac_part)) return bad();
    if (int_part.empty() && frac_part.empty()) return bad();
  }
  if (!int_part.empty() && !all_digits(int_part)) return bad();
  if (int_part.empty() && frac_part.empty()) return bad();

  // All significant digits, and where the point sits among them.
  std::string digits;
  digits.reserve(int_part.size() + frac_part.size());
  digits.append(int_part);
  digits.append(frac_part);
  long point = static_cast<long>(int_part.size()) + exponent;  // digits before the point
  // Strip leading zeros (adjusting the point) and trailing zeros (not precision).
  std::size_t lead = 0;
  while (lead < digits.size() && digits[lead] == '0') ++lead;
  digits.erase(0, lead);
  point -= static_cast<long>(lead);
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  if (digits.empty()) return Decimal(0, kind.fraction_digits);

  long integer_digits = point > 0 ? point : 0;
  long fraction_digits = static_cast<long>(digits.size()) - point;
  if (integer_digits > kind.integer_digits)
    return validation_error("has more than " + std::to_string(kind.integer_digits) +
                            " integer digits");
  if (fraction_digits > kind.fraction_digits)
    return validation_error("has more than " + std::to_string(kind.fraction_digits) +
                            " decimal places");
  // value = digits * 10^(point - len); units = value * 10^scale.
  std::int64_t units = 0;
  for (char c : digits) units = units * 10 + (c - '0');
  units *= pow10(static_cast<int>(kind.fraction_digits - fraction_digits));
  return Decimal(negative ? -units : units, kind.fraction_digits);
}

std::string Decimal::to_string() const {
  std::uint64_t magnitude = units_ < 0 ? 0 - static_cast<std::uint64_t>(units_)
                                       : static_cast<std::uint64_t>(units_);
  std::string digits = std::to_string(magnitude);
  if (static_cast<int>(digits.size()) <= scale_)
    digits.insert(0, static_cast<std::size_t>(scale_ + 1 - static_cast<int>(digits.size())), '0');
  if (scale_ > 0) digits.insert(digits.size() - static_cast<std::size_t>(scale_), ".");
  if (units_ < 0) digits.insert(0, "-");
  return digits;
}

Result<Decimal> Decimal::multiply(const Decimal& other, DecimalKind kind) const {
  __int128 product = static_cast<__int128>(units_) * other.units_;
  int product_scale = scale_ + other.scale_;
  int drop = product_scale - kind.fraction_digits;
  if (drop > 0) {
    __int128 divisor = pow10(drop);
    __int128 quotient = product / divisor;
    __int128 remainder = product % divisor;
    if (remainder < 0) remainder = -remainder;
    if (remainder * 2 >= divisor) quotient += product < 0 ? -1 : 1;  // half away from zero
    product = quotient;
  } else if (drop < 0) {
    product *= pow10(-drop);
  }
  __int128 limit = static_cast<__int128>(pow10(kind.integer_digits)) * pow10(kind.fraction_digits);
  if (product >= limit || product <= -limit)
    return validation_error("has more than " + std::to_string(kind.integer_digits) +
                            " integer digits");
  return Decimal(static_cast<std::int64_t>(product), kind.fraction_digits);
}

}  // namespace avsync
