// The demo's static files: what a directory is read into, what is left out of it, its
// limits, and what a name finds.

#include "server/static_files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace avsync::server {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("avsync-static-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    site_ = base_ / "site";
    fs::create_directories(site_);
    write("index.html", "<!doctype html><title>demo</title>");
  }
  void TearDown() override { fs::remove_all(base_); }

  // Writes `text` at `name` under the site, making its directories.
  void write(const fs::path& name, const std::string& text) {
    fs::create_directories((site_ / name).parent_path());
    std::ofstream(site_ / name, std::ios::binary) << text;
  }

  StaticFiles load(const StaticLimits& limits = {}) {
    auto loaded = StaticFiles::load(site_, limits);
    EXPECT_TRUE(loaded) << loaded.error().message;
    return loaded ? std::move(*loaded) : StaticFiles{};
  }

  Error refusal(const fs::path& dir, const StaticLimits& limits = {}) {
    auto loaded = StaticFiles::load(dir, limits);
    EXPECT_FALSE(loaded) << dir << " loaded";
    return loaded ? Error{} : loaded.error();
  }

  fs::path base_;  // removed at the end
  fs::path site_;  // base_/site, the directory served
};

TEST(StaticFileTypes, EachKnownExtensionHasItsContentTypeAndAnyOtherIsOctetStream) {
  const std::pair<std::string, std::string> cases[] = {
      {"index.html", "text/html; charset=utf-8"},
      {"demo.js", "text/javascript; charset=utf-8"},
      {"worker.mjs", "text/javascript; charset=utf-8"},
      {"app.css", "text/css; charset=utf-8"},
      {"data.json", "application/json"},
      {"demo.js.map", "application/json"},
      {"logo.svg", "image/svg+xml"},
      {"icon.png", "image/png"},
      {"favicon.ico", "image/x-icon"},
      {"app.webmanifest", "application/manifest+json"},
      {"INDEX.HTML", "text/html; charset=utf-8"},
      {"archive.tar.gz", "application/octet-stream"},
      {"LICENSE", "application/octet-stream"},
      {"sub.dir/noextension", "application/octet-stream"},
  };
  for (const auto& [name, type] : cases) EXPECT_EQ(content_type_for(name), type) << name;
}

TEST_F(StaticFilesTest, EveryFileUnderTheDirectoryIsServedByItsRelativeNameWithItsTypeAndETag) {
  write("demo.js", "console.log('demo')");
  write("assets/app.css", "body{}");
  write("assets/img/logo.svg", "<svg/>");
  const StaticFiles files = load();

  EXPECT_EQ(files.file_count(), 4u);
  const StaticFile* js = files.find("demo.js");
  ASSERT_NE(js, nullptr);
  EXPECT_EQ(js->bytes, "console.log('demo')");
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  ASSERT_EQ(js->etag.size(), 34u) << js->etag;
  EXPECT_TRUE(js->etag.starts_with('"') && js->etag.ends_with('"')) << js->etag;
  ASSERT_NE(files.find("assets/img/logo.svg"), nullptr);
  EXPECT_EQ(files.find("assets/img/logo.svg")->content_type, "image/svg+xml");
  EXPECT_EQ(files.total_bytes(), 34u + 19u + 6u + 6u);
}

TEST_F(StaticFilesTest, AnEmptyNameOrOneEndingInASlashFindsThatDirectorysIndex) {
  write("guide/index.html", "guide");
  const StaticFiles files = load();
  ASSERT_NE(files.find(""), nullptr);
  EXPECT_EQ(files.find("")->bytes, "<!doctype html><title>demo</title>");
  ASSERT_NE(files.find("guide/"), nullptr);
  EXPECT_EQ(files.find("guide/")->bytes, "guide");
  EXPECT_EQ(files.find("guide"), nullptr) << "a directory's name alone is no file";
  EXPECT_EQ(files.find("assets/"), nullptr);
}

TEST_F(StaticFilesTest, TheETagFollowsTheContentAlone) {
  write("a.js", "same");
  write("b.js", "same");
  write("c.js", "other");
  const StaticFiles files = load();
  EXPECT_EQ(files.find("a.js")->etag, files.find("b.js")->etag);
  EXPECT_NE(files.find("a.js")->etag, files.find("c.js")->etag);
}

TEST_F(StaticFilesTest, NamesThatLeaveTheDirectoryOrAreMalformedFindNothing) {
  std::ofstream(base_ / "secret.txt") << "outside";
  const StaticFiles files = load();
  const std::vector<std::string> names = {
      "../secret.txt", "./index.html",      "/index.html", "//index.html",
      ".\\index.html", "..\\secret.txt",    "index.html/", "index.html\0"s,
      "INDEX.HTML",    "%2e%2e/secret.txt", "a\0b"s,       std::string(100'000, 'a')};
  for (const std::string& name : names) EXPECT_EQ(files.find(name), nullptr) << name.substr(0, 40);
}

TEST_F(StaticFilesTest, DotfilesAndEverythingInDotDirectoriesAreLeftOut) {
  write(".env", "SECRET=1");
  write(".git/config", "[core]");
  write("assets/.DS_Store", "x");
  write("assets/.cache/app.js", "cached");
  write("assets/app.js", "kept");
  const StaticFiles files = load();
  EXPECT_EQ(files.file_count(), 2u);
  for (std::string name : {".env", ".git/config", "assets/.DS_Store", "assets/.cache/app.js"})
    EXPECT_EQ(files.find(name), nullptr) << name;
  EXPECT_NE(files.find("assets/app.js"), nullptr);
}

TEST_F(StaticFilesTest, ASymbolicLinkIsFollowedOnlyToARegularFileInsideTheDirectory) {
  std::ofstream(base_ / "outside.txt") << "outside";
  fs::create_directories(base_ / "elsewhere");
  std::ofstream(base_ / "elsewhere" / "a.js") << "outside";
  write("demo.js", "inside");
  write(".hidden.js", "hidden");
  fs::create_directories(site_ / "assets");
  fs::create_symlink(base_ / "outside.txt", site_ / "escape.txt");
  fs::create_symlink("../../outside.txt", site_ / "assets" / "relative-escape.txt");
  fs::create_symlink("/etc/passwd", site_ / "passwd");
  fs::create_directory_symlink(base_ / "elsewhere", site_ / "linked-dir");
  fs::create_directory_symlink(site_ / "assets", site_ / "loop");
  fs::create_symlink(site_ / "missing.js", site_ / "dangling.js");
  fs::create_symlink(site_ / ".hidden.js", site_ / "shown.js");
  fs::create_symlink("demo.js", site_ / "alias.js");

  const StaticFiles files = load();
  for (std::string name : {"escape.txt", "assets/relative-escape.txt", "passwd", "linked-dir/a.js",
                           "loop", "dangling.js", "shown.js"})
    EXPECT_EQ(files.find(name), nullptr) << name;
  ASSERT_NE(files.find("alias.js"), nullptr);
  EXPECT_EQ(files.find("alias.js")->bytes, "inside");
  EXPECT_EQ(files.file_count(), 3u) << "index.html, demo.js and alias.js";
}

TEST_F(StaticFilesTest, AFifoIsLeftOutRatherThanWaitedOn) {
  ASSERT_EQ(::mkfifo((site_ / "pipe.js").c_str(), 0600), 0);
  const StaticFiles files = load();
  EXPECT_EQ(files.find("pipe.js"), nullptr);
  EXPECT_EQ(files.file_count(), 1u);
}

TEST_F(StaticFilesTest, AMissingDirectoryOrIndexIsNotFoundNamingTheDirectory) {
  const Error missing = refusal(base_ / "absent");
  EXPECT_EQ(missing.code, ErrorCode::not_found);
  EXPECT_EQ(missing.message, (base_ / "absent").string() + " does not exist");

  const Error file = refusal(site_ / "index.html");
  EXPECT_EQ(file.code, ErrorCode::not_found);
  EXPECT_EQ(file.message, (site_ / "index.html").string() + " is not a directory");

  fs::remove(site_ / "index.html");
  write("sub/index.html", "only below");
  const Error no_index = refusal(site_);
  EXPECT_EQ(no_index.code, ErrorCode::not_found);
  EXPECT_EQ(no_index.message, "no index.html in " + site_.string());
}

TEST_F(StaticFilesTest, MoreFilesOrBytesThanTheLimitsAllowAreRefusedWhole) {
  for (int i = 0; i < 4; ++i) write("f" + std::to_string(i) + ".js", std::string(100, 'x'));

  EXPECT_TRUE(StaticFiles::load(site_, {.max_files = 5, .max_total_bytes = 1000}));
  const Error files = refusal(site_, {.max_files = 4, .max_total_bytes = 1000});
  EXPECT_EQ(files.code, ErrorCode::bad_request);
  EXPECT_EQ(files.message, site_.string() + " holds more than 4 files");

  const Error bytes = refusal(site_, {.max_files = 5, .max_total_bytes = 400});
  EXPECT_EQ(bytes.code, ErrorCode::bad_request);
  EXPECT_EQ(bytes.message, site_.string() + " holds more than 400 bytes of files");
}

TEST(EmbeddedStaticFiles, AFileCompiledInIsServedLikeALoadedOneBinaryBytesIncluded) {
  const std::string png("\x89PNG\r\n\x1a\n\0\0", 10);
  const EmbeddedFile table[] = {
      {"index.html", "<!doctype html>"}, {"app.js", "export {};"}, {"img/logo.png", png}};
  const StaticFiles files = StaticFiles::from_embedded(table);
  EXPECT_EQ(files.file_count(), 3u);
  EXPECT_EQ(files.total_bytes(), 15u + 10u + 10u);
  const StaticFile* index = files.find("");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->bytes, "<!doctype html>");
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index->etag.size(), 34u);
  EXPECT_EQ(files.find("index.html"), index);
  ASSERT_NE(files.find("img/logo.png"), nullptr);
  EXPECT_EQ(files.find("img/logo.png")->bytes, png) << "the NULs are kept";
  EXPECT_EQ(files.find("img/logo.png")->content_type, "image/png");
  EXPECT_NE(files.find("app.js")->etag, index->etag);
  for (std::string_view missing :
       {std::string_view("img"), std::string_view("img/"), std::string_view("../app.js"),
        std::string_view("app.js\0", 7), std::string_view("APP.JS"), std::string_view("/app.js")})
    EXPECT_EQ(files.find(missing), nullptr) << missing;
}

}  // namespace
}  // namespace avsync::server
