// Runs tests/c_api_test.c (a C program) against a real server.
#include <gtest/gtest.h>

#include "sync_fixture.hpp"

namespace avsync::testing {
namespace {

class CApiTest : public SyncServerTest {};

TEST_F(CApiTest, ACProgramRunsAFullOfflineToOnlineCycle) {
  // Port 1 on loopback: nothing listens there, so the first sync is offline.
  auto out = run_program({AVSYNC_C_API_TEST_BIN, "http://127.0.0.1:" + std::to_string(server->port()),
                          token_a, (server->dir() / "c-device.db").string(), "http://127.0.0.1:1"});
  EXPECT_EQ(out.exit_code, 0) << out.err << out.out;
}

}  // namespace
}  // namespace avsync::testing
