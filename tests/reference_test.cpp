// The repository stands alone: every reference in its text names something that exists.
// Four kinds are checked:
// - Markdown links in README.md and docs/*.md: a relative target must exist (relative to the
//   linking file), and a #anchor must be a heading of the target (GitHub's slugs).
// - Paths that start with a top-level directory (docs/protocol.md, src/core/codec.hpp,
//   tests/c_api_test.c), in any scanned file: they must exist; a glob must match something.
// - Bare Markdown names (auth.md): beside the file, in docs/ or at the root.
// - Protocol sections (§3.4): a numbered heading of docs/protocol.md, unless the line cites
//   an RFC, whose sections are another document's.
// The checker first runs over small trees holding one broken reference of each kind, so it
// is known to catch them, then over the repository. It runs no product code.

#include <glob.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "testing/test_dir.hpp"

namespace avsync::testing {
namespace {

namespace fs = std::filesystem;

// What the checker reads: these files and every file under these trees, except directories
// named build* or starting with a dot, what npm and the web client's build write, and binary
// files.
constexpr std::string_view kScannedFiles[] = {"README.md", "Makefile", "CMakeLists.txt"};
constexpr std::string_view kScannedTrees[] = {"docs",    "src",     "include", "tests",    "bench",  "fuzz",
                                              "scripts", "cmake",   "packaging", "clients"};
constexpr std::string_view kGeneratedDirectories[] = {"node_modules", "dist", "dist-test"};
constexpr std::string_view kGeneratedFiles[] = {"package-lock.json"};
constexpr std::string_view kProtocolDocument = "docs/protocol.md";

struct BrokenReference {
  std::string file;  // relative to the root, '/'-separated
  std::size_t line = 0;
  std::string reference;  // as written
};

struct ReferenceReport {
  std::size_t checked = 0;  // references looked at, broken or not
  std::vector<BrokenReference> broken;
};

bool is_path_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/' ||
         c == '*';
}

// The end of a glob's brace group such as {hpp,cpp} that starts at `at`, or npos.
std::size_t brace_group_end(const std::string& line, std::size_t at) {
  if (line[at] != '{') return std::string::npos;
  std::size_t end = at + 1;
  while (end < line.size() && (std::isalnum(static_cast<unsigned char>(line[end])) || line[end] == ',' ||
                               line[end] == '_' || line[end] == '.' || line[end] == '-'))
    ++end;
  return end < line.size() && line[end] == '}' && end > at + 1 ? end + 1 : std::string::npos;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  return lines;
}

// A heading's anchor as GitHub makes it: lower case, spaces become '-', and punctuation other
// than '-' and '_' is dropped. Letters beyond ASCII are kept (Latin-1 capitals lowered);
// Latin-1 symbols (the section sign, ×) and the general punctuation, arrow and math blocks
// are dropped.
std::string github_slug(std::string_view heading) {
  std::string out;
  for (std::size_t i = 0; i < heading.size();) {
    const auto c = static_cast<unsigned char>(heading[i]);
    if (c < 0x80) {
      if (std::isalnum(c)) out.push_back(static_cast<char>(std::tolower(c)));
      else if (c == ' ') out.push_back('-');
      else if (c == '-' || c == '_') out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    const std::size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    char32_t cp = c & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07);
    for (std::size_t k = 1; k < length && i + k < heading.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(heading[i + k]) & 0x3F);
    const bool symbol = cp < 0xC0 || cp == 0xD7 || cp == 0xF7 || (cp >= 0x2000 && cp <= 0x2BFF);
    if (!symbol) {
      if (cp >= 0xC0 && cp <= 0xDE) cp += 0x20;
      if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else {
        out.append(heading.substr(i, length));
      }
    }
    i += length;
  }
  return out;
}

// Marks fenced code blocks (``` or ~~~) so headings and links inside them are not read.
std::vector<bool> fenced_lines(const std::vector<std::string>& lines) {
  std::vector<bool> fenced(lines.size(), false);
  bool inside = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    const std::size_t indent = line.find_first_not_of(' ');
    const bool fence = indent != std::string_view::npos && indent < 4 &&
                       (line.substr(indent).starts_with("```") || line.substr(indent).starts_with("~~~"));
    fenced[i] = inside || fence;
    if (fence) inside = !inside;
  }
  return fenced;
}

class ReferenceChecker {
 public:
  explicit ReferenceChecker(fs::path root) : root_(std::move(root)) {
    for (const auto& entry : fs::directory_iterator(root_)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory() && !name.starts_with('.') && !name.starts_with("build"))
        top_level_.insert(name);
    }
    const fs::path protocol = root_ / kProtocolDocument;
    if (fs::exists(protocol)) {
      static const std::regex kNumbered(R"(^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s)");
      const auto lines = split_lines(read_file(protocol));
      const auto fenced = fenced_lines(lines);
      std::smatch m;
      for (std::size_t i = 0; i < lines.size(); ++i)
        if (!fenced[i] && std::regex_search(lines[i], m, kNumbered)) sections_.insert(m[1]);
    }
  }

  ReferenceReport run() {
    for (std::string_view name : kScannedFiles)
      if (fs::is_regular_file(root_ / name)) check_file(std::string(name));
    for (std::string_view tree : kScannedTrees) {
      if (!fs::is_directory(root_ / tree)) continue;
      std::vector<std::string> files;
      for (auto it = fs::recursive_directory_iterator(root_ / tree); it != fs::recursive_directory_iterator(); ++it) {
        const std::string name = it->path().filename().string();
        if (it->is_directory() && (name.starts_with('.') || name.starts_with("build") ||
                                   std::ranges::find(kGeneratedDirectories, name) != std::end(kGeneratedDirectories))) {
          it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file() && std::ranges::find(kGeneratedFiles, name) == std::end(kGeneratedFiles))
          files.push_back(fs::relative(it->path(), root_).generic_string());
      }
      std::sort(files.begin(), files.end());
      for (const std::string& file : files) check_file(file);
    }
    return std::move(report_);
  }

 private:
  void check_file(const std::string& file) {
    const std::string text = read_file(root_ / file);
    if (text.find('\0') != std::string::npos) return;  // binary
    const auto lines = split_lines(text);
    const bool markdown = file.ends_with(".md");
    const auto fenced = markdown ? fenced_lines(lines) : std::vector<bool>(lines.size(), false);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      std::string line = lines[i];
      if (markdown && !fenced[i]) check_links(file, i + 1, line);
      check_mentions(file, i + 1, line);
      check_sections(file, i + 1, line);
    }
  }

  void broken(const std::string& file, std::size_t line, std::string reference) {
    report_.broken.push_back({file, line, std::move(reference)});
  }

  // Links [text](target): each target is checked, then blanked out of `line` so the path
  // and name checks do not count it a second time.
  void check_links(const std::string& file, std::size_t line_number, std::string& line) {
    static const std::regex kLink(R"(\[([^\]]*)\]\(([^()\s]+)(?:\s+"[^"]*")?\))");
    for (auto it = std::sregex_iterator(line.begin(), line.end(), kLink); it != std::sregex_iterator(); ++it) {
      const std::string target = (*it)[2];
      if (target.starts_with("http://") || target.starts_with("https://") || target.starts_with("mailto:"))
        continue;
      ++report_.checked;
      if (!link_resolves(file, target)) broken(file, line_number, target);
    }
    line = std::regex_replace(line, kLink, "[$1]");
  }

  bool link_resolves(const std::string& file, const std::string& target) {
    const std::size_t hash = target.find('#');
    const std::string path = target.substr(0, hash);
    fs::path resolved = fs::path(file);
    if (!path.empty()) {
      resolved = (fs::path(file).parent_path() / path).lexically_normal();
      if (resolved.empty() || *resolved.begin() == "..") return false;  // outside the repository
      if (!fs::exists(root_ / resolved)) return false;
    }
    if (hash == std::string::npos) return true;
    if (resolved.extension() != ".md") return true;
    return headings(resolved.generic_string()).count(target.substr(hash + 1)) > 0;
  }

  // The anchors of a Markdown file's headings, the second of a name getting "-1" and so on.
  const std::set<std::string>& headings(const std::string& file) {
    auto [it, inserted] = anchors_.try_emplace(file);
    if (!inserted) return it->second;
    const auto lines = split_lines(read_file(root_ / file));
    const auto fenced = fenced_lines(lines);
    std::map<std::string, int> seen;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      std::string_view line = lines[i];
      const std::size_t level = line.find_first_not_of('#');
      if (fenced[i] || level == 0 || level > 6 || line[level] != ' ') continue;
      line.remove_prefix(level + 1);
      while (line.ends_with('#') || line.ends_with(' ')) line.remove_suffix(1);
      std::string slug = github_slug(line);
      const int n = seen[slug]++;
      it->second.insert(n == 0 ? slug : slug + "-" + std::to_string(n));
    }
    return it->second;
  }

  // Runs of path characters: paths under a top-level directory, and bare *.md names.
  void check_mentions(const std::string& file, std::size_t line_number, const std::string& line) {
    for (std::size_t i = 0; i < line.size();) {
      if (!is_path_char(line[i]) || (i > 0 && is_path_char(line[i - 1]))) {
        ++i;
        continue;
      }
      std::size_t end = i;
      while (end < line.size()) {
        if (is_path_char(line[end])) {
          ++end;
        } else if (const std::size_t close = brace_group_end(line, end); close != std::string::npos) {
          end = close;  // {hpp,cpp}
        } else if (line.compare(end, 3, "\xE2\x80\xA6") == 0) {
          end += 3;  // …
        } else {
          break;
        }
      }
      std::string token = line.substr(i, end - i);
      i = end;
      while (!token.empty() && (token.back() == '.' || token.back() == ',' || token.back() == ':') &&
             !token.ends_with("..."))
        token.pop_back();
      const std::size_t slash = token.find('/');
      if (slash != std::string::npos && top_level_.count(token.substr(0, slash))) {
        ++report_.checked;
        if (!path_exists(token) && !path_exists_in_package(file, token)) broken(file, line_number, token);
      } else if (slash == std::string::npos && token.ends_with(".md") && token.size() > 3 &&
                 !token.starts_with('.') && token.find_first_of("*{") == std::string::npos) {
        ++report_.checked;
        if (!bare_name_exists(file, token)) broken(file, line_number, token);
      }
    }
  }

  bool path_exists(const std::string& path) const {
    // A placeholder (src/… or src/...): the directory before it must exist.
    const std::size_t placeholder = std::min({path.find("..."), path.find("\xE2\x80\xA6")});
    if (placeholder != std::string::npos) {
      return path_exists(path.substr(0, path.rfind('/', placeholder)));
    }
    // Each alternative of a brace group names something: x.{hpp,cpp} is x.hpp and x.cpp.
    if (const std::size_t open = path.find('{'); open != std::string::npos) {
      const std::size_t close = path.find('}', open);
      std::string_view choices = std::string_view(path).substr(open + 1, close - open - 1);
      for (;;) {
        const std::size_t comma = choices.find(',');
        std::string alternative = path.substr(0, open);
        alternative += choices.substr(0, comma);
        alternative += path.substr(close + 1);
        if (!path_exists(alternative)) return false;
        if (comma == std::string_view::npos) return true;
        choices.remove_prefix(comma + 1);
      }
    }
    // A glob must match at least one path.
    if (path.find('*') != std::string::npos) {
      glob_t matches{};
      const std::string pattern = (root_ / path).string();
      const int status = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &matches);
      const bool found = status == 0 && matches.gl_pathc > 0;
      ::globfree(&matches);
      return found;
    }
    return fs::exists(root_ / path);
  }

  // Inside an npm package (clients/web), paths are written from the package's root, the
  // nearest directory above the file that holds a package.json.
  bool path_exists_in_package(const std::string& file, const std::string& path) const {
    for (fs::path dir = fs::path(file).parent_path(); !dir.empty(); dir = dir.parent_path())
      if (fs::exists(root_ / dir / "package.json")) return path_exists((dir / path).generic_string());
    return false;
  }

  bool bare_name_exists(const std::string& file, const std::string& name) const {
    return fs::exists(root_ / fs::path(file).parent_path() / name) || fs::exists(root_ / "docs" / name) ||
           fs::exists(root_ / name);
  }

  // §N and §N.M, unless the line cites an RFC (RFC 7519 §2 is that RFC's section).
  void check_sections(const std::string& file, std::size_t line_number, const std::string& line) {
    static const std::regex kRfc(R"(RFC\s*\d)");
    static const std::string kSection = "\xC2\xA7";
    if (line.find(kSection) == std::string::npos || std::regex_search(line, kRfc)) return;
    for (std::size_t at = line.find(kSection); at != std::string::npos; at = line.find(kSection, at + 1)) {
      std::size_t end = at + kSection.size();
      while (end < line.size() && (std::isdigit(static_cast<unsigned char>(line[end])) ||
                                   (line[end] == '.' && end + 1 < line.size() &&
                                    std::isdigit(static_cast<unsigned char>(line[end + 1])))))
        ++end;
      const std::string number = line.substr(at + kSection.size(), end - at - kSection.size());
      ++report_.checked;
      if (number.empty() || !sections_.count(number)) broken(file, line_number, line.substr(at, end - at));
    }
  }

  fs::path root_;
  std::set<std::string> top_level_;  // directories a path mention may start with
  std::set<std::string> sections_;   // "3", "3.4": the numbered headings of the protocol
  std::map<std::string, std::set<std::string>> anchors_;
  ReferenceReport report_;
};

ReferenceReport check_references(const fs::path& root) { return ReferenceChecker(root).run(); }

std::string describe(const ReferenceReport& report) {
  std::string out;
  for (const BrokenReference& b : report.broken)
    out += b.file + ":" + std::to_string(b.line) + ": " + b.reference + "\n";
  return out;
}

// The small trees below are written from pieces (kDocs, kSrc, kSection, kMd) so that the
// repository's own scan, which reads this file too, does not take their references as its
// own. Their paths live under lib/, which the repository does not have.
const std::string kDocs = "docs";
const std::string kSrc = "src";
const std::string kSection = "\xC2\xA7";
const std::string kMd = ".md";

class ReferenceCheckerTest : public ::testing::Test {
 protected:
  // A tree whose every reference resolves: a protocol with sections 1, 1.1 and 2, a guide,
  // a README and a header under lib/.
  ReferenceCheckerTest() {
    write(kDocs + "/protocol" + kMd, "# Protocol\n\n## 1. Requests\n\n### 1.1 Errors\n\n## 2. Sync\n");
    write(kDocs + "/guide" + kMd, "# Guide\n\nSee [the protocol](protocol" + kMd + "#11-errors), " + kSection +
                                      "1.1, lib/present.hpp and lib/*.hpp.\n");
    write("README" + kMd, "# Readme\n\n## Start here\n\n[guide](" + kDocs + "/guide" + kMd +
                              ") and [up](#start-here); guide" + kMd + " by name; JWTs: RFC 7519 " + kSection +
                              "4.1.\n");
    write("lib/present.hpp", "// nothing\n");
  }

  void write(const std::string& relative, const std::string& text) const {
    const fs::path path = dir_.path() / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  // The broken references of the tree once a notes page holding `line` (its line 3) is added.
  std::string broken_after_adding(const std::string& line) const {
    write(kDocs + "/notes" + kMd, "# Notes\n\n" + line + "\n");
    return describe(check_references(dir_.path()));
  }
  // How the report names a reference on the notes page's line 3.
  static std::string on_notes_page(const std::string& reference) {
    return kDocs + "/notes" + kMd + ":3: " + reference + "\n";
  }

  TestDir dir_;
};

TEST_F(ReferenceCheckerTest, ACleanTreeIsReportedClean) {
  const ReferenceReport report = check_references(dir_.path());
  EXPECT_EQ(describe(report), "");
  // The guide's link, section, path and glob; the README's two links and name. The RFC's
  // section is not counted.
  EXPECT_EQ(report.checked, 7u);
}

TEST_F(ReferenceCheckerTest, ALinkToAMissingFileIsReported) {
  EXPECT_EQ(broken_after_adding("[old](../lib/gone.txt)"), on_notes_page("../lib/gone.txt"));
}

TEST_F(ReferenceCheckerTest, AnAnchorNoHeadingHasIsReported) {
  EXPECT_EQ(broken_after_adding("[a](protocol" + kMd + "#9-gone), [b](#nowhere), [c](protocol" + kMd + "#2-sync)"),
            on_notes_page("protocol" + kMd + "#9-gone") + on_notes_page("#nowhere"));
}

TEST_F(ReferenceCheckerTest, APathOrGlobThatNamesNothingIsReported) {
  EXPECT_EQ(broken_after_adding("see lib/gone.hpp, lib/*.cpp and lib/present.{hpp,cpp}."),
            on_notes_page("lib/gone.hpp") + on_notes_page("lib/*.cpp") + on_notes_page("lib/present.{hpp,cpp}"));
}

TEST_F(ReferenceCheckerTest, ASectionTheProtocolDoesNotHaveIsReported) {
  EXPECT_EQ(broken_after_adding("as " + kSection + "2 and " + kSection + "1.2 say"), on_notes_page(kSection + "1.2"));
}

TEST_F(ReferenceCheckerTest, ABareMarkdownNameFoundNowhereIsReported) {
  EXPECT_EQ(broken_after_adding("the upstream GONE" + kMd + " says so"), on_notes_page("GONE" + kMd));
}

TEST_F(ReferenceCheckerTest, SourceFilesAreReadToo) {
  write(kSrc + "/a.cpp", "// lib/present.hpp, then lib/gone.hpp (" + kSection + "7)\n");
  EXPECT_EQ(describe(check_references(dir_.path())),
            kSrc + "/a.cpp:1: lib/gone.hpp\n" + kSrc + "/a.cpp:1: " + kSection + "7\n");
}

TEST(Repository, EveryReferenceNamesSomethingThatExists) {
  const ReferenceReport report = check_references(AVSYNC_SOURCE_DIR);
  std::cout << "references checked: " << report.checked << ", broken: " << report.broken.size() << "\n";
  // A scan that read nothing would pass below: the repository holds hundreds.
  EXPECT_GT(report.checked, 300u);
  EXPECT_TRUE(report.broken.empty()) << "references to nothing (file:line: reference):\n" << describe(report);
}

}  // namespace
}  // namespace avsync::testing
