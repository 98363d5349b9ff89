// Randomized attempts by tenant B on tenant A's data (docs/protocol.md §2). Whatever B sends,
// A's data stays exactly as it was, and every answer B gets about one of A's ids is the
// answer it gets about an id that exists nowhere: B cannot even learn that A's ids exist.
// The seed is printed; AVSYNC_TEST_SEED=N replays a run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

// One operation by B about `id`, as (success, error code, message with the id masked).
std::string outcome(const OpResult& r, const std::string& id) {
  std::string message = r.message;
  for (std::size_t at; (at = message.find(id)) != std::string::npos;) message.replace(at, id.size(), "<id>");
  return std::string(r.success ? "ok" : "failed") + "|" + r.error + "|" + message;
}

class TenantAttackTest : public SyncServerTest {};

TEST_F(TenantAttackTest, RandomAttemptsFromAnotherTenantNeitherChangeNorRevealAnything) { run_tenant_attack(); }

}  // namespace

// Tenants A and B are whatever the fixture (or a test before calling this) made them:
// opaque tokens here, JWT-signed tenants in jwt_auth_test.cpp.
void SyncServerTest::run_tenant_attack() {
  const char* env_seed = std::getenv("AVSYNC_TEST_SEED");
  const std::uint64_t seed = env_seed ? std::strtoull(env_seed, nullptr, 10) : std::random_device{}();
  std::printf("tenant attack seed: %llu (AVSYNC_TEST_SEED=%llu replays it)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);

  // A's data: every entity, with references between them.
  std::map<std::string, std::vector<std::string>> a_ids;  // entity -> ids
  std::vector<boost::json::object> ops;
  for (int i = 0; i < 6; ++i) {
    std::string customer = new_uuid(), sale = new_uuid();
    a_ids["customers"].push_back(customer);
    a_ids["sales"].push_back(sale);
    ops.push_back(operation(new_uuid(), "customers", "insert", customer, R"({"name":"A secret"})", ts(1)));
    ops.push_back(operation(new_uuid(), "sales", "insert", sale,
                            R"({"customer_id":")" + customer + R"(","total":"10","payment_type":"cash"})", ts(1)));
    std::string item = new_uuid(), abono = new_uuid(), dist = new_uuid();
    a_ids["sale_items"].push_back(item);
    a_ids["abonos"].push_back(abono);
    a_ids["distribuciones"].push_back(dist);
    ops.push_back(operation(new_uuid(), "sale_items", "insert", item,
                            R"({"sale_id":")" + sale + R"(","product_name":"P","quantity":1,"unit_price":"1"})", ts(1)));
    ops.push_back(operation(new_uuid(), "abonos", "insert", abono,
                            R"({"customer_id":")" + customer + R"(","amount":"1"})", ts(1)));
    ops.push_back(operation(new_uuid(), "distribuciones", "insert", dist, R"({"product_name":"P","quantity":1})", ts(1)));
  }
  for (const auto& r : push(ops)) ASSERT_TRUE(r.success) << r.message;
  const auto a_before = state_of(token_a);
  const auto version_before = tenant_version(business_a);
  std::string a_cursor;
  pull_all(token_a, "", 1000, &a_cursor);

  const std::vector<std::string> entities{"customers", "sales", "sale_items", "abonos", "distribuciones"};
  auto pick = [&](const std::vector<std::string>& v) -> const std::string& { return v[rng() % v.size()]; };
  // A payload for `entity` whose references (if any) point at `target`.
  auto payload_for = [&](const std::string& entity, const std::string& target) -> std::string {
    if (entity == "customers") return R"({"name":"B","business_id":")" + business_a + R"("})";
    if (entity == "sales") return R"({"customer_id":")" + target + R"(","total":"1","payment_type":"cash","businessId":")" + business_a + R"("})";
    if (entity == "sale_items") return R"({"sale_id":")" + target + R"(","product_name":"P","quantity":1,"unit_price":"1"})";
    if (entity == "abonos") return R"({"customer_id":")" + target + R"(","amount":"1"})";
    return R"({"product_name":"P","quantity":1,"business_id":")" + business_a + R"("})";
  };

  constexpr int kAttempts = 150;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const std::string& entity = pick(entities);
    const std::string& a_id = pick(a_ids[entity]);
    const std::string nowhere = new_uuid();
    std::string action;
    std::string payload_a, payload_nowhere;
    switch (rng() % 3) {
      case 0:
        action = "update";
        payload_a = payload_nowhere = entity == "customers" ? R"({"name":"pwned"})" : R"({"notes":"pwned"})";
        if (entity == "sale_items") payload_a = payload_nowhere = R"({"product_name":"pwned"})";
        break;
      case 1:
        action = "delete";
        payload_a = payload_nowhere = "{}";
        break;
      default: {
        // An insert of B's own row whose foreign key names A's row (or a row nowhere).
        action = "insert";
        const std::string& target_entity = entity == "sale_items" ? std::string("sales") : std::string("customers");
        const std::string& a_target = pick(a_ids[target_entity]);
        std::string nowhere_target = new_uuid();
        payload_a = payload_for(entity, a_target);
        payload_nowhere = payload_for(entity, nowhere_target);
        auto on_a = push_as(token_b, {operation(new_uuid(), entity, "insert", nowhere, payload_a, ts(2))}).at(0);
        auto on_nowhere = push_as(token_b, {operation(new_uuid(), entity, "insert", new_uuid(), payload_nowhere, ts(2))}).at(0);
        ASSERT_EQ(outcome(on_a, a_target), outcome(on_nowhere, nowhere_target)) << entity << " insert";
        continue;
      }
    }
    auto on_a = push_as(token_b, {operation(new_uuid(), entity, action, a_id, payload_a, ts(3))}).at(0);
    auto on_nowhere = push_as(token_b, {operation(new_uuid(), entity, action, nowhere, payload_nowhere, ts(3))}).at(0);
    ASSERT_EQ(outcome(on_a, a_id), outcome(on_nowhere, nowhere)) << entity << " " << action;
  }

  // businessId injected into the envelope and the query string: ignored (§2).
  auto envelope = boost::json::parse(batch_body({operation(new_uuid(), "customers", "update", a_ids["customers"][0],
                                                           R"({"name":"pwned","businessId":")" + business_a + R"("})", ts(5))}));
  envelope.as_object()["businessId"] = business_a;
  envelope.as_object()["business_id"] = business_a;
  auto injected = http->post_batch(token_b, boost::json::serialize(envelope));
  ASSERT_EQ(injected.status, 200);
  EXPECT_EQ(parse_json_body(injected.body).at("results").at(0).at("error"), "NOT_FOUND");
  auto injected_feed = http->get_changes(token_b, "business_id=" + business_a + "&businessId=" + business_a);
  ASSERT_EQ(injected_feed.status, 200);
  EXPECT_EQ(injected_feed.body.find("A secret"), std::string::npos);

  // Reading: A's cursor with B's token shows nothing of A; B's feed holds only B's rows.
  auto replayed = http->get_changes(token_b, "since=" + a_cursor);
  if (replayed.status == 200) {
    const auto page = parse_json_body(replayed.body);
    for (const auto& c : page.at("changes").as_array()) {
      std::string id = c.at("entityId").as_string().c_str();
      for (const auto& [entity, ids] : a_ids) {
        for (const auto& a_id : ids) {
          if (id != a_id) continue;
          // Only B's own row with the same id (an insert above) may appear, with B's data.
          EXPECT_NE(c.at("data").at("name"), "A secret");
        }
      }
    }
  } else {
    EXPECT_EQ(replayed.status, 400);
  }
  for (const auto& [key, row] : state_of(token_b)) {
    if (row.action != "upsert") continue;
    EXPECT_EQ(row.data.as_object().count("business_id"), 0u);
    if (row.data.as_object().contains("name")) {
      EXPECT_NE(row.data.at("name"), "A secret") << key;
    }
  }

  // Tokens that are not valid any more see nothing.
  std::string revoked = server->create_token(business_b, "revoked");
  server->revoke_token(revoked);
  EXPECT_EQ(http->get_changes(revoked).status, 401);
  std::string expired = server->create_token(business_b, "expired");
  query_database(server->db_url(), "UPDATE auth_tokens SET expires_at_ms = 1000 WHERE user_id = 'expired'");
  EXPECT_EQ(http->get_changes(expired).status, 401);
  EXPECT_EQ(http->get_changes(expired, "since=" + a_cursor).status, 401);
  EXPECT_EQ(http->post_batch(revoked, batch_body({operation(new_uuid(), "customers", "update", a_ids["customers"][0],
                                                            R"({"name":"x"})", ts(4))})).status, 401);

  EXPECT_EQ(tenant_version(business_a), version_before) << "nothing B did was a write in A";
  auto a_after = state_of(token_a);
  ASSERT_EQ(a_after.size(), a_before.size());
  for (const auto& [key, row] : a_before) EXPECT_EQ(a_after.at(key).data, row.data) << key;
}

}  // namespace avsync::testing
