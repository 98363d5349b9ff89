#pragma once
// The change feed's one merge: a ChangeSnapshot's streams, each in version order, made into
// a page. Both stores only read rows; the server's pull (SyncService::read_changes) and
// Store::read_changes page with this.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "store/store.hpp"

namespace avsync::store {

struct PageEnd {
  std::size_t rows = 0;
  bool has_more = false;
  std::uint64_t cursor_version = 0;  // the page resumes after this version
};

// Hands `emit` (callable with a ChangeView) the page's changes in version order: at most
// query.limit of them. The cursor is the last change's version when more follow, else the
// tenant's latest version (and never behind query.after_version), so a caught-up client
// skips the versions whose rows changed again since.
template <typename Emit>
PageEnd merge_changes(ChangeSnapshot& snapshot, const ChangeQuery& query, Emit&& emit) {
  // Each stream's head with its version, which the merge compares many times.
  std::vector<std::pair<std::uint64_t, ChangeStream*>> heads;
  for (ChangeStream* stream : snapshot.streams())
    if (stream->next()) heads.emplace_back(stream->version(), stream);
  PageEnd end;
  std::uint64_t last = query.after_version;
  while (!heads.empty()) {
    auto head = std::min_element(heads.begin(), heads.end(),
                                 [](const auto& a, const auto& b) { return a.first < b.first; });
    if (end.rows == query.limit) {
      end.has_more = true;
      break;
    }
    ChangeStream& stream = *head->second;
    emit(stream.view());
    last = head->first;
    ++end.rows;
    if (stream.next())
      head->first = stream.version();
    else
      heads.erase(head);
  }
  end.cursor_version =
      end.has_more ? last : std::max(query.after_version, snapshot.latest_version());
  return end;
}

}  // namespace avsync::store
