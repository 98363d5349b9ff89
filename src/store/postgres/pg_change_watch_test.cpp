#include "store/postgres/pg_change_watch.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace avsync::store::pg {
namespace {

TEST(ChangeNotice, AVersionAndAnIdAreRead) {
  auto notice = parse_change_notice("42 tienda-1");
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->version, 42u);
  EXPECT_EQ(notice->business_id, "tienda-1");
}

TEST(ChangeNotice, AnIdKeepsItsSpaces) {
  auto notice = parse_change_notice("7 la tienda ");
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->version, 7u);
  EXPECT_EQ(notice->business_id, "la tienda ");
}

TEST(ChangeNotice, MalformedPayloadsAreIgnored) {
  for (const std::string& payload : std::vector<std::string>{
           "", "42", "42 ", " b1", "-1 b1", "+1 b1", "4x2 b1", "18446744073709551616 b1",
           "1 " + std::string(129, 'a'), std::string("1 b\x01")})
    EXPECT_FALSE(parse_change_notice(payload)) << payload;
  EXPECT_TRUE(parse_change_notice("1 " + std::string(128, 'a')));
}

}  // namespace
}  // namespace avsync::store::pg
