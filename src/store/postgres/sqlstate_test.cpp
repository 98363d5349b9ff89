#include "store/postgres/sqlstate.hpp"

#include <gtest/gtest.h>

namespace avsync::store::pg {
namespace {

TEST(Sqlstate, ADataExceptionIsTheBatchsBadData) {
  for (const char* state : {"22003", "22P02", "22007", "22008", "22021", "22000"}) {
    SCOPED_TRACE(state);
    EXPECT_EQ(classify_sqlstate(state), FailureCause::bad_data);
  }
}

TEST(Sqlstate, ALostConnectionIsUnavailable) {
  for (const char* state : {"08000", "08001", "08006", "08P01"}) {
    SCOPED_TRACE(state);
    EXPECT_EQ(classify_sqlstate(state), FailureCause::unavailable);
  }
}

TEST(Sqlstate, AServerShuttingDownIsUnavailable) {
  for (const char* state : {"57P01", "57P02", "57P03"}) {
    SCOPED_TRACE(state);
    EXPECT_EQ(classify_sqlstate(state), FailureCause::unavailable);
  }
}

TEST(Sqlstate, ASerializationFailureOrDeadlockIsUnavailable) {
  EXPECT_EQ(classify_sqlstate("40001"), FailureCause::unavailable);
  EXPECT_EQ(classify_sqlstate("40P01"), FailureCause::unavailable);
}

TEST(Sqlstate, NoAnswerFromTheServerIsUnavailable) {
  EXPECT_EQ(classify_sqlstate(""), FailureCause::unavailable);
}

TEST(Sqlstate, EverythingElseIsInternal) {
  // A unique violation, another rollback, a syntax error, a missing table, a query
  // cancelled by statement_timeout (57014, not 57P), disk full.
  for (const char* state : {"23505", "23503", "40002", "42601", "42P01", "57014", "53100", "XX000"}) {
    SCOPED_TRACE(state);
    EXPECT_EQ(classify_sqlstate(state), FailureCause::internal);
  }
}

}  // namespace
}  // namespace avsync::store::pg
