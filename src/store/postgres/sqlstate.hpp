#pragma once
// What a PostgreSQL failure calls for, decided from its SQLSTATE alone: the one place the
// PostgreSQL store maps driver codes to the store's exceptions (store/store.hpp).

#include <string_view>

namespace avsync::store::pg {

enum class FailureCause {
  bad_data,     // class 22, data exception: a value of the batch -> store::DataRejected
  unavailable,  // retry later can succeed -> store::Unavailable (503)
  internal,     // anything else: a bug or a broken database -> 500 with a logged id
};

// Class 22 (data exception) is bad_data. Class 08 (connection exception), 57P01..57P05
// (administrator shutdown, crash shutdown, cannot connect now, database dropped, idle
// session timeout), 40001 (serialization failure) and 40P01 (deadlock) are unavailable,
// as is an empty SQLSTATE: libpq reports none when the server never answered. Everything
// else (constraint violations such as 23505, syntax errors, insufficient resources, ...)
// is internal.
FailureCause classify_sqlstate(std::string_view sqlstate);

}  // namespace avsync::store::pg
