#include "client/response_decoder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/codec.hpp"
#include "core/json.hpp"
#include "core/schema.hpp"

namespace avsync::client {
namespace {

TEST(ResponseDecoder, BatchResultsKeepSuccessAndErrorsInOrder) {
  auto r = decode_batch_results(
      R"({"results":[{"operationId":"a","success":true,"serverTimestamp":"x"},
                     {"operationId":"b","success":false,"error":"CONFLICT","message":"newer"}],
          "serverTimestamp":"x"})",
      {"a", "b"});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->results.size(), 2u);
  EXPECT_FALSE(r->results[0].error);
  ASSERT_TRUE(r->results[1].error);
  EXPECT_EQ(r->results[1].error->code, ErrorCode::conflict);
  EXPECT_EQ(r->results[1].error->message, "newer");
  EXPECT_FALSE(r->cursor) << "an older server sends no cursor";
}

TEST(ResponseDecoder, ABatchCursorIsKeptWhenTheServerSendsOne) {
  auto r = decode_batch_results(
      R"({"results":[{"operationId":"a","success":true}],"cursor":"v1.42","serverTimestamp":"x"})",
      {"a"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->cursor, "v1.42");
  auto bad = decode_batch_results(R"({"results":[{"operationId":"a","success":true}],"cursor":42})",
                                  {"a"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::bad_response);
}

TEST(ResponseDecoder, AnUnknownPerOperationCodeIsKeptRetryable) {
  auto r = decode_batch_results(R"({"results":[{"operationId":"a","success":false,"error":"NEW_THING"}]})", {"a"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results[0].error->code, ErrorCode::internal);
}

TEST(ResponseDecoder, ResultsThatDoNotAnswerTheRequestAreABadResponse) {
  for (const char* body : {"", "not json", "[]", R"({"results":{}})", R"({"results":[]})",
                           R"({"results":[{"operationId":"b","success":true}]})",
                           R"({"results":[{"operationId":"a","success":"yes"}]})",
                           R"({"results":[{"operationId":"a"}]})", R"({"results":[1]})"}) {
    auto r = decode_batch_results(body, {"a"});
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, ErrorCode::bad_response) << body;
  }
}

TEST(ResponseDecoder, AChangesPageDecodesUpsertsAndDeletes) {
  auto page = decode_changes_page(R"({"changes":[
      {"entity":"customers","entityId":"6f1c0000-0000-4000-8000-000000000001","action":"upsert",
       "data":{"id":"6f1c0000-0000-4000-8000-000000000001","name":"Ana","phone":null,
               "credit_limit":"10.00","created_at":"c","updated_at":"u"},"serverTimestamp":"u"},
      {"entity":"abonos","entityId":"9a0e0000-0000-4000-8000-000000000002","action":"delete","data":null}],
      "cursor":"v1.7","hasMore":true,"serverTimestamp":"x"})");
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->cursor, "v1.7");
  EXPECT_TRUE(page->has_more);
  ASSERT_EQ(page->changes.size(), 2u);
  const PulledChange& c = page->changes[0];
  EXPECT_EQ(c.entity->name, "customers");
  EXPECT_FALSE(c.deleted);
  EXPECT_EQ(c.values[c.entity->field_index("name")], "Ana");
  EXPECT_EQ(c.values[c.entity->field_index("phone")], std::nullopt);
  EXPECT_EQ(c.values[c.entity->field_index("credit_limit")], "10.00");
  EXPECT_EQ(c.created_at, "c");
  EXPECT_EQ(c.updated_at, "u");
  EXPECT_TRUE(page->changes[1].deleted);
  EXPECT_EQ(page->changes[1].entity->name, "abonos");
}

TEST(ResponseDecoder, AMalformedChangesPageIsABadResponse) {
  for (const char* body :
       {"{", R"({"changes":[],"hasMore":false})", R"({"changes":[],"cursor":"v1.0"})",
        R"({"changes":{},"cursor":"v1.0","hasMore":false})",
        R"({"changes":[{"entity":"planets","entityId":"x","action":"upsert","data":{}}],"cursor":"c","hasMore":false})",
        R"({"changes":[{"entity":"customers","entityId":"x","action":"merge","data":{}}],"cursor":"c","hasMore":false})",
        R"({"changes":[{"entity":"customers","entityId":"x","action":"upsert","data":null}],"cursor":"c","hasMore":false})",
        R"({"changes":[{"entity":"customers","entityId":"x","action":"upsert","data":{"name":["a"],"created_at":"c","updated_at":"u"}}],"cursor":"c","hasMore":false})",
        R"({"changes":[{"entity":"customers","entityId":"x","action":"upsert","data":{"name":"a"}}],"cursor":"c","hasMore":false})"}) {
    auto page = decode_changes_page(body);
    ASSERT_FALSE(page) << body;
    EXPECT_EQ(page.error().code, ErrorCode::bad_response) << body;
  }
}

// The decoder the page reader replaced, over a whole JSON tree: the oracle of the test below.
Result<ChangesPage> decode_page_from_tree(std::string_view body) {
  auto bad = [](std::string message) { return Error{ErrorCode::bad_response, std::move(message)}; };
  auto string_of = [](const JsonValue& object, std::string_view key) -> const std::string* {
    const JsonValue* v = object.find(key);
    return v && v->is_string() ? &v->text : nullptr;
  };
  auto json = parse_json(body);
  if (!json) return bad(json.error().message);
  if (!json->is_object()) return bad("changes page is not an object");
  ChangesPage page;
  for (const auto& member : json->members) {
    if (member.first != "changes" || !member.second.is_array()) continue;
    for (const JsonValue& c : member.second.items) {
      if (!c.is_object()) return bad("a change is not an object");
      const std::string* entity_name = string_of(c, "entity");
      const std::string* id = string_of(c, "entityId");
      const std::string* action = string_of(c, "action");
      if (!entity_name || !id || !action) return bad("a change without entity, entityId or action");
      const EntitySpec* entity = find_entity(*entity_name);
      if (!entity) return bad("unknown entity " + *entity_name);
      PulledChange change{entity, *id, *action == "delete", {}, {}, {}};
      if (!change.deleted) {
        if (*action != "upsert") return bad("unknown action " + *action);
        const JsonValue* data = c.find("data");
        if (!data || !data->is_object()) return bad("an upsert without data");
        for (const FieldSpec& f : entity->fields) {
          const JsonValue* v = data->find(f.name);
          if (!v || v->is_null())
            change.values.emplace_back(std::nullopt);
          else if (v->is_string() || v->kind == JsonValue::Kind::number)
            change.values.emplace_back(v->text);
          else
            return bad("not text");
        }
        const std::string* created = string_of(*data, "created_at");
        const std::string* updated = string_of(*data, "updated_at");
        if (!created || !updated) return bad("a row without created_at or updated_at");
        change.created_at = *created;
        change.updated_at = *updated;
      }
      page.changes.push_back(std::move(change));
    }
  }
  const JsonValue* changes = json->find("changes");
  const std::string* cursor = string_of(*json, "cursor");
  const JsonValue* has_more = json->find("hasMore");
  if (!changes || !changes->is_array() || !cursor || !has_more ||
      has_more->kind != JsonValue::Kind::boolean)
    return bad("changes page without changes, cursor or hasMore");
  page.cursor = *cursor;
  page.has_more = has_more->boolean;
  return page;
}

// Changes every part of a page at random: members reordered, repeated with another value,
// dropped, or given a value of another kind (null, boolean, number, string, object, array,
// nested); unknown members with nested values added.
void mutate(JsonValue& v, std::mt19937& rng, int depth) {
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  auto other_value = [&]() {
    JsonValue out;
    switch (rng() % 7) {
      case 0:
        break;  // null
      case 1:
        out.kind = JsonValue::Kind::boolean, out.boolean = chance(50);
        break;
      case 2:
        out.kind = JsonValue::Kind::number, out.text = chance(50) ? "12.50" : "-3e2";
        break;
      case 3:
        out.kind = JsonValue::Kind::string, out.text = chance(50) ? "delete" : "x\"\\\n\u00f1";
        break;
      case 4:
        out.kind = JsonValue::Kind::object;
        out.members.emplace_back("a", JsonValue{});
        break;
      case 5:
        out.kind = JsonValue::Kind::array;
        out.items.emplace_back();
        out.items.back().kind = JsonValue::Kind::array;
        break;
      default: {
        out.kind = JsonValue::Kind::object;
        JsonValue inner;
        inner.kind = JsonValue::Kind::array;
        inner.items.resize(2);
        inner.items[0].kind = JsonValue::Kind::object;
        out.members.emplace_back("entity", std::move(inner));
      }
    }
    return out;
  };
  if (v.kind == JsonValue::Kind::object) {
    for (auto& member : v.members) mutate(member.second, rng, depth + 1);
    if (chance(15)) std::shuffle(v.members.begin(), v.members.end(), rng);
    if (!v.members.empty() && chance(10))
      v.members.erase(v.members.begin() + static_cast<long>(rng() % v.members.size()));
    if (!v.members.empty() && chance(10)) {
      const std::string name = v.members[rng() % v.members.size()].first;
      v.members.emplace_back(
          name, chance(50) ? other_value() : v.members[rng() % v.members.size()].second);
    }
    if (!v.members.empty() && chance(8)) v.members[rng() % v.members.size()].second = other_value();
    if (chance(8)) v.members.emplace_back(chance(50) ? "extra" : "serverTimestamp", other_value());
  } else if (v.kind == JsonValue::Kind::array) {
    for (auto& item : v.items) mutate(item, rng, depth + 1);
    if (!v.items.empty() && chance(3)) v.items[rng() % v.items.size()] = other_value();
  }
}

// The page reader and the tree decoder it replaced agree on every page: the server's own
// pages, and thousands of variations of them, valid or not.
TEST(ResponseDecoder, ThePageReaderDecodesWhatTheTreeDecoderDecodes) {
  const EntitySpec& customers = *find_entity("customers");
  const EntitySpec& sales = *find_entity("sales");
  std::vector<std::optional<std::string>> customer(customers.fields.size());
  customer[customers.field_index("name")] =
      "Ana \"la\" Pe\xC3\xB1"
      "a\\\n\x01 \xF0\x9F\x98\x80" +
      std::string(3000, 'x');
  customer[customers.field_index("credit_limit")] = "10.00";
  std::vector<std::optional<std::string>> sale(sales.fields.size(), std::string("7"));
  ChangePage served{
      {RowChange{&customers, "6f1c0000-0000-4000-8000-000000000001", false, customer, "c", "u", 1},
       RowChange{&sales, "6f1c0000-0000-4000-8000-000000000002", false, sale, "c2", "u2", 2},
       RowChange{&customers, "6f1c0000-0000-4000-8000-000000000003", true, {}, "c3", "u3", 3}},
      3,
      true};
  const std::string body = encode_changes(served, "v1.3", 0);
  const JsonValue tree = *parse_json(body);
  std::mt19937 rng(15);
  int agreed_valid = 0;
  for (int round = 0; round < 3000; ++round) {
    JsonValue page = tree;
    if (round > 0) mutate(page, rng, 0);
    const std::string text = round % 97 == 1 ? body.substr(0, rng() % body.size()) : to_json(page);
    auto expected = decode_page_from_tree(text);
    auto actual = decode_changes_page(text);
    ASSERT_EQ(static_cast<bool>(actual), static_cast<bool>(expected))
        << text.substr(0, 2000) << "\n"
        << (expected ? actual.error().message : expected.error().message);
    if (!expected) {
      EXPECT_EQ(actual.error().code, ErrorCode::bad_response);
      continue;
    }
    ++agreed_valid;
    EXPECT_EQ(actual->cursor, expected->cursor);
    EXPECT_EQ(actual->has_more, expected->has_more);
    ASSERT_EQ(actual->changes.size(), expected->changes.size()) << text.substr(0, 2000);
    for (std::size_t i = 0; i < expected->changes.size(); ++i) {
      const PulledChange& a = actual->changes[i];
      const PulledChange& e = expected->changes[i];
      EXPECT_EQ(a.entity, e.entity);
      EXPECT_EQ(a.entity_id, e.entity_id);
      EXPECT_EQ(a.deleted, e.deleted);
      EXPECT_EQ(a.values, e.values) << text.substr(0, 2000);
      EXPECT_EQ(a.created_at, e.created_at);
      EXPECT_EQ(a.updated_at, e.updated_at);
    }
  }
  EXPECT_GT(agreed_valid, 300) << "the variations must also keep many pages valid";
}

TEST(ResponseDecoder, WholeRequestErrorsAreClassifiedByStatus) {
  EXPECT_EQ(decode_error_reply(401, R"({"error":{"code":"UNAUTHENTICATED","message":"bad token"}})").code,
            ErrorCode::unauthenticated);
  EXPECT_EQ(decode_error_reply(401, "").message, "HTTP 401");
  EXPECT_EQ(decode_error_reply(429, "").code, ErrorCode::rate_limited);
  EXPECT_EQ(decode_error_reply(503, "<html>").code, ErrorCode::unavailable);
  EXPECT_EQ(decode_error_reply(502, "").code, ErrorCode::server_error);
  EXPECT_EQ(decode_error_reply(500, R"({"error":{"code":"INTERNAL","message":"m"}})").code, ErrorCode::server_error);
  EXPECT_EQ(decode_error_reply(413, R"({"error":{"code":"BATCH_TOO_LARGE","message":"m"}})").code,
            ErrorCode::batch_too_large);
  EXPECT_EQ(decode_error_reply(413, "").code, ErrorCode::payload_too_large);
  EXPECT_EQ(decode_error_reply(400, R"({"error":{"code":"BAD_REQUEST","message":"why"}})").message, "why");
  EXPECT_EQ(decode_error_reply(404, "").code, ErrorCode::bad_request);
  EXPECT_EQ(decode_error_reply(302, "").code, ErrorCode::bad_response);
}

}  // namespace
}  // namespace avsync::client
