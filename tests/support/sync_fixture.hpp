#pragma once
// Shared vocabulary of the integration tests: a server with two tenants, operation
// builders and feed readers that speak the wire format through real HTTP.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "server_process.hpp"

namespace avsync::testing {

// A random UUID (lower-case), different every call.
std::string new_uuid();

// Timestamps well in the server's past, so last-write-wins is decided by these values
// and never by clamping: ts(0) < ts(1) < ...
std::string ts(int seconds_after_base);

// One operation as JSON. `payload` is JSON text ("" leaves the member out).
boost::json::object operation(const std::string& operation_id, const std::string& entity,
                              const std::string& action, const std::string& entity_id,
                              const std::string& payload, const std::string& client_timestamp);
std::string batch_body(const std::vector<boost::json::object>& operations);

struct OpResult {
  std::string operation_id;
  bool success = false;
  std::string error;    // wire code when failed
  std::string message;
};

struct FeedRow {
  std::string entity;
  std::string action;  // upsert | delete
  boost::json::value data;
};

// A device that follows the feed by cursor and keeps the latest state it was shown.
class FeedFollower {
 public:
  FeedFollower(std::uint16_t port, std::string token, int page_size)
      : client_(port), token_(std::move(token)), page_size_(page_size) {}
  // Pages from the current cursor until hasMore is false.
  void catch_up();
  // Keeps catching up while the writers run, then once more after they all finished.
  void follow_until_done(std::vector<std::thread>& writers);
  // "entity/id" -> data of every live row the feed has shown.
  const std::map<std::string, boost::json::value>& rows() const { return rows_; }

 private:
  HttpClient client_;
  std::string token_;
  int page_size_;
  std::string cursor_;
  std::map<std::string, boost::json::value> rows_;
};

class SyncServerTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // Extra `serve` flags for the fixture's server. The suite sends far more requests per
  // token than a device would, so the per-token rate limit is off unless a test is about
  // it (limits_test.cpp).
  virtual std::vector<std::string> serve_args() const {
    return {"--rate-limit", "0", "--op-rate-limit", "0", "--auth-failure-limit", "0"};
  }
  void TearDown() override;

  // POSTs the operations with tenant A's token (or `token`), expects 200, returns results.
  std::vector<OpResult> push(const std::vector<boost::json::object>& operations);
  std::vector<OpResult> push_as(const std::string& token, const std::vector<boost::json::object>& operations);
  OpResult push_one(const boost::json::object& operation) { return push({operation}).at(0); }

  // Follows the feed from `since` until hasMore is false; every change in order.
  std::vector<FeedRow> pull_all(const std::string& token, const std::string& since = "",
                                int limit = 1000, std::string* final_cursor = nullptr);
  // The latest state per "entity/id" from a full pull.
  std::map<std::string, FeedRow> state_of(const std::string& token);
  // Expects what `follower` was shown to equal a fresh full pull, row for row.
  void expect_matches_server(const FeedFollower& follower, const std::string& token);

  // The tenant's change version as stored. Every applied write advances it by one and
  // nothing else does, so the difference between two readings counts applied writes.
  std::int64_t tenant_version(const std::string& business_id);

  // Convenience inserts (tenant A unless given another token); return the new id.
  std::string insert_customer(const std::string& name = "Ana Ruiz", const std::string& token = "");
  std::string insert_sale(const std::string& customer_id, const std::string& token = "");

  // Randomized attempts by tenant B (token_b) on tenant A's data (token_a): nothing of A
  // changes and nothing about A's ids leaks (tenant_attack_test.cpp).
  void run_tenant_attack();

  std::unique_ptr<ServerProcess> server;
  std::unique_ptr<HttpClient> http;
  std::string business_a, business_b, token_a, token_b;
};

boost::json::value parse_json_body(const std::string& body);
// The results of a 200 answer to POST /sync/batch, in order.
std::vector<OpResult> parse_batch_results(const std::string& body);

}  // namespace avsync::testing
