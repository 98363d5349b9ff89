#include "client/response_decoder.hpp"

#include <gtest/gtest.h>

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
