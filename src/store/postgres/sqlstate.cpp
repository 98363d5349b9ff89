#include "store/postgres/sqlstate.hpp"

namespace avsync::store::pg {

FailureCause classify_sqlstate(std::string_view sqlstate) {
  if (sqlstate.empty()) return FailureCause::unavailable;
  if (sqlstate.starts_with("22")) return FailureCause::bad_data;
  if (sqlstate.starts_with("08") || sqlstate.starts_with("57P") || sqlstate == "40001" || sqlstate == "40P01")
    return FailureCause::unavailable;
  return FailureCause::internal;
}

}  // namespace avsync::store::pg
