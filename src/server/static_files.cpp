#include "server/static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "server/digest.hpp"

namespace avsync::server {
namespace {

namespace fs = std::filesystem;

Error not_found(std::string message) { return Error{ErrorCode::not_found, std::move(message)}; }
Error refused(std::string message) { return Error{ErrorCode::bad_request, std::move(message)}; }

// True when `path` (canonical) lies below `root` (canonical) and no name on the way starts
// with a dot: a link may not reach what the directory's own listing leaves out.
bool is_servable_within(const fs::path& path, const fs::path& root) {
  auto [r, p] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  if (r != root.end() || p == path.end()) return false;
  return std::none_of(p, path.end(),
                      [](const fs::path& name) { return name.string().starts_with('.'); });
}

// A quoted prefix of the SHA-256 of `bytes`: 128 bits tell versions of a file apart.
std::string etag_of(std::string_view bytes) {
  return "\"" + sha256_hex(bytes).substr(0, 32) + "\"";
}

// Reads the regular file at `path` whole, when it holds at most `budget` bytes. Opened
// without following a last symbolic link and without blocking, and checked to be a regular
// file once open, so a file swapped for a link or a FIFO since it was listed is refused
// rather than followed or waited on.
Result<std::string> read_file(const fs::path& path, std::uint64_t budget,
                              const std::string& budget_message) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return refused("cannot read " + path.string() + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0)
    return refused("cannot read " + path.string() + ": " + std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    return refused("cannot read " + path.string() + ": not a regular file");
  if (static_cast<std::uint64_t>(info.st_size) > budget) return refused(budget_message);
  std::string bytes(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return refused("cannot read " + path.string() + ": " + std::strerror(errno));
    if (got == 0) break;  // shrank while read: serve what it holds now
    done += static_cast<std::size_t>(got);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace

std::string_view content_type_for(std::string_view file_name) {
  const std::size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string extension(file_name.substr(dot + 1));
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"webmanifest", "application/manifest+json"},
      {"txt", "text/plain; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"ico", "image/x-icon"},
      {"wasm", "application/wasm"},
      {"woff2", "font/woff2"},
  };
  for (const auto& [known, type] : kTypes)
    if (extension == known) return type;
  return "application/octet-stream";
}

Result<StaticFiles> StaticFiles::load(const fs::path& dir, const StaticLimits& limits) {
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (!fs::exists(status)) return not_found(dir.string() + " does not exist");
  if (!fs::is_directory(status)) return not_found(dir.string() + " is not a directory");
  const fs::path root = fs::canonical(dir, ec);
  if (ec) return refused("cannot read " + dir.string() + ": " + ec.message());

  StaticFiles out;
  const std::string too_large = dir.string() + " holds more than " +
                                std::to_string(limits.max_total_bytes) + " bytes of files";
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec) return refused("cannot read " + dir.string() + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return refused("cannot read " + dir.string() + ": " + ec.message());
    const fs::directory_entry& entry = *it;
    if (entry.path().filename().string().starts_with('.')) {
      it.disable_recursion_pending();  // a dot directory's files are left out with it
      continue;
    }
    fs::path source = entry.path();
    const fs::file_status own = entry.symlink_status(ec);
    if (ec) return refused("cannot read " + source.string() + ": " + ec.message());
    if (fs::is_symlink(own)) {
      // Followed only to a regular file inside the directory; a dangling link is skipped.
      fs::path target = fs::canonical(source, ec);
      if (ec || !is_servable_within(target, root) || !fs::is_regular_file(fs::status(target, ec)))
        continue;
      source = std::move(target);
    } else if (!fs::is_regular_file(own)) {
      continue;  // a directory (the iterator enters it), or a FIFO, socket or device
    }
    if (out.files_.size() >= limits.max_files)
      return refused(dir.string() + " holds more than " + std::to_string(limits.max_files) +
                     " files");
    auto bytes = read_file(source, limits.max_total_bytes - out.total_bytes_, too_large);
    if (!bytes) return std::move(bytes).error();
    const std::string name = entry.path().lexically_relative(root).generic_string();
    out.total_bytes_ += bytes->size();
    StaticFile file{std::move(*bytes), content_type_for(name), {}};
    file.etag = etag_of(file.bytes);
    out.files_.emplace(name, std::move(file));
  }
  if (!out.files_.contains("index.html")) return not_found("no index.html in " + dir.string());
  return out;
}

StaticFiles StaticFiles::from_embedded(std::span<const EmbeddedFile> files) {
  StaticFiles out;
  for (const EmbeddedFile& embedded : files) {
    StaticFile file{std::string(embedded.bytes), content_type_for(embedded.name),
                    etag_of(embedded.bytes)};
    out.total_bytes_ += file.bytes.size();
    out.files_.insert_or_assign(std::string(embedded.name), std::move(file));
  }
  return out;
}

const StaticFile* StaticFiles::find(std::string_view path) const {
  if (path.empty() || path.ends_with('/')) {
    auto it = files_.find(std::string(path) + "index.html");
    return it == files_.end() ? nullptr : &it->second;
  }
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace avsync::server
