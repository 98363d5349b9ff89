# The test targets are compiled as unity builds: under the sanitizers a test file spends
# most of its compile on what every test file shares (GoogleTest, Boost.JSON and the
# support headers, their inline functions instrumented again in each object); five
# integration test files compiled as one took a third of the CPU time they take apart
# (11.5 s against 33.6 s with ASan). A file whose names clash with
# another's (a second definition in an anonymous namespace) is compiled alone:
# SKIP_UNITY_BUILD_INCLUSION below. server_test is left out: its files name ::testing and
# avsync::testing both, which one unit cannot.
foreach(test integration_test avsync_test_support core_test client_test store_test)
  set_target_properties(${test} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
endforeach()
# config_test.cpp defines the CLI's exit codes (kOk, kUsage) as cli_test.cpp does.
set_source_files_properties(${PROJECT_SOURCE_DIR}/tests/integration/config_test.cpp
  TARGET_DIRECTORY integration_test PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
