#pragma once
// The admin API (docs/protocol.md §7): businesses and device tokens over HTTP,
// for an app's backend that prefers opaque tokens to JWTs. Only the operator's credential
// (--admin-token-file) opens it: never a tenant token, never a JWT. Without a credential
// configured the routes do not exist (404).

#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/store.hpp"

namespace avsync::server {

struct HttpResponse;

// The credential in `path`: the file's text without surrounding whitespace, at least 32
// characters of printable ASCII. An error names the file and the reason.
Result<std::string> load_admin_credential(const std::string& path);

class AdminApi {
 public:
  AdminApi(store::Store& store, const Clock& clock, std::string_view credential);

  // True when `authorization` is "Bearer <the admin credential>". Compares SHA-256
  // digests in constant time, so neither the content nor the length leaks.
  bool authorized(std::string_view authorization) const;

  // POST /admin/businesses {"name", "id"?} -> 201 {"id", "name", "createdAt"}.
  HttpResponse create_business(std::string_view body) const;
  // POST /admin/tokens {"businessId", "userId", "ttlHours"?} -> 201 with the token, shown once.
  HttpResponse create_token(std::string_view body) const;
  // GET /admin/tokens?businessId= -> 200 {"tokens": [...]}, without secrets.
  HttpResponse list_tokens(std::string_view query) const;
  // DELETE /admin/tokens/{id} -> 200 {"id", "revoked": true}; 404 for an unknown id.
  HttpResponse revoke_token(std::string_view id) const;

 private:
  store::Store& store_;
  const Clock& clock_;
  std::string credential_digest_;
};

}  // namespace avsync::server
