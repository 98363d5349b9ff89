#include "sync_fixture.hpp"

#include <atomic>
#include <random>


namespace avsync::testing {

std::string new_uuid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::uint64_t> dist;
  std::uint64_t a = dist(rng), b = dist(rng);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string ts(int s) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "2026-01-01T%02d:%02d:%02d.000Z", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

boost::json::object operation(const std::string& operation_id, const std::string& entity,
                              const std::string& action, const std::string& entity_id,
                              const std::string& payload, const std::string& client_timestamp) {
  boost::json::object o;
  o["operationId"] = operation_id;
  o["entity"] = entity;
  o["action"] = action;
  o["entityId"] = entity_id;
  if (!payload.empty()) o["payload"] = boost::json::parse(payload);
  o["clientTimestamp"] = client_timestamp;
  return o;
}

std::string batch_body(const std::vector<boost::json::object>& operations) {
  boost::json::array list;
  for (const auto& o : operations) list.push_back(o);
  return boost::json::serialize(boost::json::object{{"operations", list}});
}

boost::json::value parse_json_body(const std::string& body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  EXPECT_FALSE(ec) << "not JSON: " << body;
  return v;
}

void SyncServerTest::SetUp() {
  server = std::make_unique<ServerProcess>(serve_args());
  business_a = server->create_business("Tienda A");
  business_b = server->create_business("Tienda B");
  token_a = server->create_token(business_a, "seller-a");
  token_b = server->create_token(business_b, "seller-b");
  server->start();
  http = std::make_unique<HttpClient>(server->port());
}

void SyncServerTest::TearDown() {
  http.reset();
  if (server && server->running()) server->stop();
  server.reset();
}

std::vector<OpResult> SyncServerTest::push(const std::vector<boost::json::object>& operations) {
  return push_as(token_a, operations);
}

std::vector<OpResult> SyncServerTest::push_as(const std::string& token,
                                              const std::vector<boost::json::object>& operations) {
  auto res = http->post_batch(token, batch_body(operations));
  EXPECT_EQ(res.status, 200) << res.body;
  if (res.status != 200) return std::vector<OpResult>(operations.size());
  auto out = parse_batch_results(res.body);
  EXPECT_EQ(out.size(), operations.size());
  return out;
}

std::vector<OpResult> parse_batch_results(const std::string& body) {
  std::vector<OpResult> out;
  auto v = parse_json_body(body);
  for (const auto& r : v.at("results").as_array()) {
    const auto& o = r.as_object();
    OpResult result;
    result.operation_id = o.at("operationId").as_string().c_str();
    result.success = o.at("success").as_bool();
    EXPECT_TRUE(o.at("serverTimestamp").is_string());
    if (!result.success) {
      result.error = o.at("error").as_string().c_str();
      result.message = o.at("message").as_string().c_str();
    }
    out.push_back(result);
  }
  return out;
}

std::vector<FeedRow> SyncServerTest::pull_all(const std::string& token, const std::string& since,
                                              int limit, std::string* final_cursor) {
  std::vector<FeedRow> rows;
  std::string cursor = since;
  for (int page = 0; page < 100000; ++page) {
    std::string query = "limit=" + std::to_string(limit);
    if (!cursor.empty()) query += "&since=" + cursor;
    auto res = http->get_changes(token, query);
    EXPECT_EQ(res.status, 200) << res.body;
    if (res.status != 200) break;
    auto v = parse_json_body(res.body);
    for (const auto& c : v.at("changes").as_array()) {
      const auto& o = c.as_object();
      rows.push_back({std::string(o.at("entity").as_string().c_str()) + "/" +
                          o.at("entityId").as_string().c_str(),
                      o.at("action").as_string().c_str(), o.at("data")});
    }
    cursor = v.at("cursor").as_string().c_str();
    if (!v.at("hasMore").as_bool()) break;
  }
  if (final_cursor) *final_cursor = cursor;
  return rows;
}

std::map<std::string, FeedRow> SyncServerTest::state_of(const std::string& token) {
  std::map<std::string, FeedRow> state;
  for (auto& row : pull_all(token)) state[row.entity] = row;
  return state;
}

void FeedFollower::catch_up() {
  for (;;) {
    auto res = client_.get_changes(token_, "limit=" + std::to_string(page_size_) +
                                               (cursor_.empty() ? std::string() : "&since=" + cursor_));
    ASSERT_EQ(res.status, 200) << res.body;
    auto v = parse_json_body(res.body);
    for (const auto& c : v.at("changes").as_array()) {
      std::string key = std::string(c.at("entity").as_string().c_str()) + "/" + c.at("entityId").as_string().c_str();
      if (c.at("action") == "delete") rows_.erase(key);
      else rows_[key] = c.at("data");
    }
    cursor_ = v.at("cursor").as_string().c_str();
    if (!v.at("hasMore").as_bool()) return;
  }
}

void FeedFollower::follow_until_done(std::vector<std::thread>& writers) {
  std::atomic<bool> done{false};
  std::thread joiner([&] {
    for (auto& t : writers) t.join();
    done = true;
  });
  while (!done) catch_up();
  joiner.join();
  catch_up();
}

void SyncServerTest::expect_matches_server(const FeedFollower& follower, const std::string& token) {
  auto truth = state_of(token);
  EXPECT_EQ(follower.rows().size(), truth.size());
  for (const auto& [key, row] : truth) {
    auto it = follower.rows().find(key);
    ASSERT_NE(it, follower.rows().end()) << "never shown: " << key;
    EXPECT_EQ(it->second, row.data) << key;
  }
}

std::int64_t SyncServerTest::tenant_version(const std::string& business_id) {
  auto rows = query_database(server->db_url(), "SELECT version FROM businesses WHERE id = $1", {business_id});
  EXPECT_EQ(rows.size(), 1u);
  return rows.empty() ? -1 : std::stoll(rows[0][0].value_or("-1"));
}

std::string SyncServerTest::insert_customer(const std::string& name, const std::string& token) {
  std::string id = new_uuid();
  boost::json::object payload{{"name", name}};
  auto r = push_as(token.empty() ? token_a : token,
                   {operation(new_uuid(), "customers", "insert", id, boost::json::serialize(payload), ts(0))});
  EXPECT_TRUE(r.at(0).success) << r.at(0).message;
  return id;
}

std::string SyncServerTest::insert_sale(const std::string& customer_id, const std::string& token) {
  std::string id = new_uuid();
  auto r = push_as(token.empty() ? token_a : token,
                   {operation(new_uuid(), "sales", "insert", id,
                              R"({"customer_id":")" + customer_id + R"(","total":"100.00","payment_type":"credit"})",
                              ts(0))});
  EXPECT_TRUE(r.at(0).success) << r.at(0).message;
  return id;
}

}  // namespace avsync::testing
