// Bounded parsing (issue 9): a batch body costs the server memory and time in proportion to
// its size whatever its shape. An unknown top-level member is refused as soon as its name
// is read, and strings, values per operation and values per body are capped while the body
// is parsed (core/codec.hpp, BatchLimits), each a 400 BAD_REQUEST naming what was too big.

#include <sys/types.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

constexpr int kConcurrentRequests = 20;
constexpr std::size_t kBodyBytes = 4'000'000;  // just under the default 4 MiB body limit

// The process's peak resident set (VmHWM), in bytes.
std::int64_t peak_rss_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmHWM:")) return std::stoll(line.substr(6)) * 1024;
  ADD_FAILURE() << "no VmHWM in /proc/" << pid << "/status";
  return 0;
}

// `{"operations":[],"junk":[0,0,...]}`, kBodyBytes long: two million values when built.
std::string junk_array_body() {
  std::string body = R"({"operations":[],"junk":[0)";
  while (body.size() + 4 < kBodyBytes) body += ",0";
  return body + "]}";
}

// A valid, empty batch of the same size that costs nothing to parse: leading whitespace.
std::string whitespace_body() {
  std::string tail = R"({"operations":[]})";
  return std::string(kBodyBytes - tail.size(), ' ') + tail;
}

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// A customer insert whose notes are `notes_json`, written as text: the fixture's builder
// goes through Boost.JSON, which refuses nesting past 32 levels.
std::string customer_with_notes(const std::string& notes_json) {
  return R"({"operationId":")" + new_uuid() + R"(","entity":"customers","action":"insert","entityId":")" +
         new_uuid() + R"(","clientTimestamp":")" + ts(1) + R"(","payload":{"name":"Ana","notes":)" + notes_json +
         "}}";
}
std::string raw_batch(const std::vector<std::string>& operations) {
  std::string body = R"({"operations":[)";
  for (std::size_t i = 0; i < operations.size(); ++i) body += (i ? "," : "") + operations[i];
  return body + "]}";
}

class BoundedParsingTest : public SyncServerTest {
 protected:
  // Sends `body` from kConcurrentRequests connections at once (alternating tenants); returns
  // each answer and how much the server's peak RSS grew meanwhile.
  std::vector<HttpResult> post_concurrently(const std::string& body, std::int64_t& peak_growth) {
    const std::int64_t before = peak_rss_bytes(server->pid());
    std::vector<HttpResult> answers(kConcurrentRequests);
    std::vector<std::thread> senders;
    for (int i = 0; i < kConcurrentRequests; ++i)
      senders.emplace_back([&, i] {
        HttpClient client(server->port());
        answers[i] = client.post_batch(i % 2 ? token_b : token_a, body);
      });
    for (auto& t : senders) t.join();
    peak_growth = peak_rss_bytes(server->pid()) - before;
    return answers;
  }

  void expect_bad_request(const HttpResult& res, const std::string& message_part) {
    ASSERT_EQ(res.status, 400) << res.body.substr(0, 300);
    auto error = parse_json_body(res.body).at("error");
    EXPECT_EQ(error.at("code"), "BAD_REQUEST");
    EXPECT_NE(std::string(error.at("message").as_string()).find(message_part), std::string::npos) << res.body;
  }
};

TEST_F(BoundedParsingTest, TwentyConcurrentJunkArrayBatchesAre400sAndCostNoMoreThanTheirTransport) {
  // What 20 concurrent 4 MB bodies cost the server just to receive (buffers, and the
  // sanitizers' shadow memory and quarantine in those builds): the yardstick.
  std::int64_t transport_growth = 0;
  for (const HttpResult& res : post_concurrently(whitespace_body(), transport_growth))
    ASSERT_EQ(res.status, 200) << res.body.substr(0, 300);

  // Two million values each if built as a tree (the server peaked at 1.5 GB before the
  // fix); refused at the member's name instead.
  std::int64_t junk_growth = 0;
  for (const HttpResult& res : post_concurrently(junk_array_body(), junk_growth))
    expect_bad_request(res, "unknown top-level member 'junk'");
  EXPECT_LT(junk_growth, transport_growth + (64 << 20))
      << "peak RSS grew " << (junk_growth >> 20) << " MB for the junk batches, "
      << (transport_growth >> 20) << " MB for receiving as many plain bodies";

  EXPECT_EQ(push_one(operation(new_uuid(), "customers", "insert", new_uuid(), R"({"name":"After"})", ts(1))).error,
            "")
      << "the server still serves a normal batch";
  EXPECT_EQ(state_of(token_a).size(), 1u);
}

TEST_F(BoundedParsingTest, AFourMegabyteStringInAKnownFieldIsA400NamingTheOperation) {
  const std::int64_t before = peak_rss_bytes(server->pid());
  std::string notes(kBodyBytes, 'n');
  auto res = http->post_batch(token_a, batch_body({operation(new_uuid(), "customers", "insert", new_uuid(),
                                                             R"({"name":"Ana","notes":")" + notes + "\"}", ts(1))}));
  expect_bad_request(res, "a string in operations[0] is longer than 65536 bytes");
  EXPECT_LT(peak_rss_bytes(server->pid()) - before, std::int64_t(64) << 20);
  EXPECT_TRUE(state_of(token_a).empty()) << "nothing applied";
}

TEST_F(BoundedParsingTest, DeepNestingWithinTheLimitIsAValidationErrorAndCannotMultiply) {
  // One value nested 60 levels (64 with the envelope, operations, operation and payload):
  // parsed, then refused by validation.
  auto one = http->post_batch(token_a, raw_batch({customer_with_notes(nested(60))}));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(parse_json_body(one.body).at("results").at(0).at("error"), "VALIDATION_ERROR");

  // Twenty such values in one operation pass the cap on values per operation.
  std::string many = "[" + nested(59);
  for (int i = 1; i < 20; ++i) many += "," + nested(59);
  many += "]";
  expect_bad_request(http->post_batch(token_a, raw_batch({customer_with_notes(many)})),
                     "operations[0] has more than 1024 values");

  // 500 operations of one such value each pass the cap on values per body.
  std::vector<std::string> ops(500);
  for (std::string& op : ops) op = customer_with_notes(nested(60));
  expect_bad_request(http->post_batch(token_a, raw_batch(ops)), "the document holds more than");
  EXPECT_TRUE(state_of(token_a).empty()) << "nothing applied";
}

}  // namespace
}  // namespace avsync::testing
