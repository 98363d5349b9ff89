// The only file that includes libcurl.
#include <curl/curl.h>

#include <charconv>
#include <mutex>

#include "client/transport.hpp"

namespace avsync::client {
namespace {

struct CurlHandleDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// Keeps Retry-After (seconds form; an HTTP date is rare enough from our server to ignore).
std::size_t read_header(char* data, std::size_t size, std::size_t count, void* user) {
  std::string_view line(data, size * count);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string lower(line.substr(0, kName.size()));
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == kName) {
      std::string_view value = line.substr(kName.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      long seconds = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec == std::errc() && seconds >= 0) {
        static_cast<HttpReply*>(user)->retry_after = std::chrono::seconds(seconds);
      }
    }
  }
  return size * count;
}

struct MultiHandleDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};

// How often a transfer looks at its cancellation flag while it waits on the network. A
// long-poll sits idle for up to a minute and stop() must end it promptly; libcurl's
// progress callback slows to about once a second when nothing moves, too slow for that.
constexpr int kCancelPollMs = 50;

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(TransportOptions options) : options_(std::move(options)) {
    global_init_once();
    while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
    handle_.reset(curl_easy_init());
    if (!handle_) throw std::runtime_error("curl_easy_init failed");
    // Requests run through a multi handle (which keeps the connection between them) so
    // the wait for the network can be cut short when the cancellation flag is raised.
    multi_.reset(curl_multi_init());
    if (!multi_) throw std::runtime_error("curl_multi_init failed");
    std::string auth = "Authorization: Bearer " + options_.token;
    headers_.reset(curl_slist_append(nullptr, auth.c_str()));
    headers_.reset(curl_slist_append(headers_.release(), "Content-Type: application/json"));
    headers_.reset(curl_slist_append(headers_.release(), "Accept: application/json"));
    // No "Expect: 100-continue" round trip on every batch.
    headers_.reset(curl_slist_append(headers_.release(), "Expect:"));
  }

  Result<HttpReply> post_json(std::string_view path, std::string_view body) override {
    CURL* h = handle_.get();
    curl_easy_reset(h);
    configure(path);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    return perform();
  }

  Result<HttpReply> get(std::string_view path_and_query) override {
    curl_easy_reset(handle_.get());
    configure(path_and_query);
    curl_easy_setopt(handle_.get(), CURLOPT_HTTPGET, 1L);
    return perform();
  }

 private:
  void configure(std::string_view path) {
    CURL* h = handle_.get();
    url_ = options_.base_url + std::string(path);
    reply_ = HttpReply{};
    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply_.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &reply_);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM-based DNS timeouts
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  }

  bool cancel_requested() const { return options_.cancel && options_.cancel->load(); }

  // curl_easy_perform, but watching options_.cancel every kCancelPollMs.
  CURLcode run_transfer() {
    CURL* h = handle_.get();
    CURLM* multi = multi_.get();
    if (curl_multi_add_handle(multi, h) != CURLM_OK) return CURLE_FAILED_INIT;
    CURLcode result = CURLE_OK;
    for (;;) {
      if (cancel_requested()) {
        result = CURLE_ABORTED_BY_CALLBACK;
        break;
      }
      int running = 0;
      if (curl_multi_perform(multi, &running) != CURLM_OK) {
        result = CURLE_FAILED_INIT;
        break;
      }
      if (running == 0) {
        int left = 0;
        result = CURLE_GOT_NOTHING;
        while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
          if (message->msg == CURLMSG_DONE && message->easy_handle == h)
            result = message->data.result;
        }
        break;
      }
      if (curl_multi_poll(multi, nullptr, 0, kCancelPollMs, nullptr) != CURLM_OK) {
        result = CURLE_FAILED_INIT;
        break;
      }
    }
    curl_multi_remove_handle(multi, h);
    return result;
  }

  Result<HttpReply> perform() {
    CURLcode rc = run_transfer();
    if (rc != CURLE_OK) return failure(rc);
    long status = 0;
    curl_easy_getinfo(handle_.get(), CURLINFO_RESPONSE_CODE, &status);
    reply_.status = static_cast<int>(status);
    return std::move(reply_);
  }

  Error failure(CURLcode rc) const {
    std::string message = std::string(curl_easy_strerror(rc)) + " (" + url_ + ")";
    if (rc == CURLE_OPERATION_TIMEDOUT) return Error{ErrorCode::timeout, std::move(message)};
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      return Error{ErrorCode::cancelled, "request cancelled (" + url_ + ")"};
    }
    if (is_tls_failure(rc)) {
      // The most common cause by far is an https:// URL for a server that speaks plain
      // HTTP (OpenSSL's "wrong version number"); say so.
      if (rc == CURLE_SSL_CONNECT_ERROR && url_.starts_with("https://")) {
        message += "; if the server speaks plain HTTP, its URL starts with http://";
      }
      return Error{ErrorCode::tls_failure, std::move(message)};
    }
    return Error{ErrorCode::network, std::move(message)};
  }

  static bool is_tls_failure(CURLcode rc) {
    switch (rc) {
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      case CURLE_SSL_INVALIDCERTSTATUS:
      case CURLE_SSL_CRL_BADFILE:
      case CURLE_SSL_ENGINE_NOTFOUND:
      case CURLE_SSL_ENGINE_SETFAILED:
      case CURLE_SSL_ENGINE_INITFAILED:
      case CURLE_USE_SSL_FAILED:
        return true;
      default:
        return false;
    }
  }

  TransportOptions options_;
  std::unique_ptr<CURL, CurlHandleDeleter> handle_;
  std::unique_ptr<CURLM, MultiHandleDeleter> multi_;  // declared after handle_: freed first
  std::unique_ptr<curl_slist, HeaderListDeleter> headers_;
  std::string url_;
  HttpReply reply_;
};

}  // namespace

std::unique_ptr<Transport> make_curl_transport(TransportOptions options) {
  return std::make_unique<CurlTransport>(std::move(options));
}

}  // namespace avsync::client
