#pragma once
// Static files held in memory: a directory read once at start, for `serve --demo`
// (docs/configuration.md), or files compiled into the binary, for the operations console
// at /admin/ (admin_ui.hpp). A request only looks a name up in a map. No request touches
// the file system, so no path, however written, reaches a file outside the set: the map
// holds nothing else.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace avsync::server {

// One file, as served.
struct StaticFile {
  std::string bytes;
  std::string_view content_type;  // a static string: "text/javascript; charset=utf-8"
  std::string etag;               // quoted, as the ETag header carries it: "\"3f9a...\""
};

// How much a directory may hold: past either, loading fails rather than serve a part.
struct StaticLimits {
  std::size_t max_files = 300;
  std::uint64_t max_total_bytes = 32u << 20;
};

// A file compiled into the binary (cmake/embed_files.cmake writes a table of them): its
// '/'-separated name relative to its folder, and its bytes, which live as long as the program.
struct EmbeddedFile {
  std::string_view name;
  std::string_view bytes;
};

class StaticFiles {
 public:
  // The files of `files`, copied, each with the Content-Type of its extension and its ETag,
  // as load() would give them. Never fails: the table was checked when it was built.
  // Throws only when memory runs out or OpenSSL's SHA-256 fails.
  static StaticFiles from_embedded(std::span<const EmbeddedFile> files);

  // Reads every regular file under `dir`, recursively. Names starting with a dot (files and
  // directories) are left out, and so are symbolic links that lead outside `dir` or to a
  // dot name in it, symbolic links to directories, and anything that is not a regular file
  // (a FIFO, a socket). A symbolic link to a file inside `dir` is served under the link's
  // name. not_found when `dir` does not exist, is not a directory or has no index.html at
  // its top; bad_request when a file cannot be read or the directory holds more than
  // `limits` allow. The message names the directory (or the file). Blocks on the file
  // system; throws only when memory runs out or OpenSSL's SHA-256 fails.
  static Result<StaticFiles> load(const std::filesystem::path& dir,
                                  const StaticLimits& limits = {});

  // The file that `path` names: relative to the directory, '/'-separated, already
  // percent-decoded, as a URL writes it after its prefix ("demo.js", "img/logo.svg"). An
  // empty path, or one ending in '/', names that directory's index.html. nullptr when no
  // file has that name; a name holding "..", a backslash or a NUL simply matches nothing.
  // Thread-safe (const, and never changes after load).
  const StaticFile* find(std::string_view path) const;

  std::size_t file_count() const { return files_.size(); }
  std::uint64_t total_bytes() const { return total_bytes_; }

 private:
  std::map<std::string, StaticFile, std::less<>> files_;  // by '/'-separated relative path
  std::uint64_t total_bytes_ = 0;
};

// The Content-Type a file is served with, by its extension (case-insensitive):
// application/octet-stream for one not listed.
std::string_view content_type_for(std::string_view file_name);

}  // namespace avsync::server
