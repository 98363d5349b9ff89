#include "store/change_feed.hpp"

namespace avsync::store {

// A page of 10,000 rows is about 1.5 MB of RowChange: reserved up front, so it never moves.
constexpr std::size_t kMaxReservedChanges = 10000;

ChangePage Store::read_changes(std::string_view business_id, const ChangeQuery& query) {
  auto snapshot = open_changes(business_id, query);
  ChangePage page{{}, query.after_version, false, snapshot->latest_version()};
  page.changes.reserve(std::min(query.limit, kMaxReservedChanges));
  const PageEnd end = merge_changes(*snapshot, query, [&](const ChangeView& c) {
    RowChange& row = page.changes.emplace_back(RowChange{c.entity,
                                                         std::string(c.entity_id),
                                                         c.deleted,
                                                         {},
                                                         std::string(c.created_at),
                                                         std::string(c.updated_at),
                                                         c.version});
    row.values.reserve(c.values.size());
    for (const auto& value : c.values)
      row.values.push_back(value ? std::optional<std::string>(*value) : std::nullopt);
  });
  page.has_more = end.has_more;
  page.cursor_version = end.cursor_version;
  return page;
}

}  // namespace avsync::store
