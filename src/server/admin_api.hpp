#pragma once
// The admin API (docs/protocol.md §7): businesses and device tokens over HTTP,
// for an app's backend that prefers opaque tokens to JWTs, and the operations console's
// data (§7.2 to §7.5): businesses' activity, the operation log, conflicts and their audit. Only the
// operator's credential
// (--admin-token-file) opens it: never a tenant token, never a JWT. Without a credential
// configured the routes do not exist (404).

#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/store.hpp"

namespace avsync::server {

struct HttpResponse;
class SyncService;

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

  // The operations console. Listings are newest first (businesses: by id) and paged by an
  // opaque cursor (nextCursor; null on the last page); a malformed filter, limit or cursor
  // is 400 and reads nothing. Each reads the store only; a store failure throws.
  // GET /admin/businesses?limit=&cursor= -> 200 {"businesses": [...], "nextCursor"}.
  HttpResponse list_businesses(std::string_view query) const;
  // GET
  // /admin/operations?businessId=&status=&entity=&errorCode=&from=&to=&operationId=&limit=&cursor=
  HttpResponse list_operations(std::string_view query) const;
  // GET /admin/conflicts?businessId=&limit=&cursor= -> failed operations not resolved yet,
  // each with the current server row of what it wrote.
  HttpResponse list_conflicts(std::string_view query) const;
  // POST /admin/conflicts/{businessId}/{operationId}/resolve {"resolution", "by"?}, the
  // ids already %-decoded; `address` is the caller's, for the audit. Writes through
  // `sync` (SyncService::resolve_conflict): 200, or 404 / 409 / 422 with nothing changed.
  HttpResponse resolve_conflict(SyncService& sync, std::string_view business_id,
                                std::string_view operation_id, std::string_view body,
                                std::string_view address) const;
  // GET /admin/audit?businessId=&limit=&cursor= -> 200 {"audit": [...], "nextCursor"}.
  HttpResponse list_audit(std::string_view query) const;

 private:
  store::Store& store_;
  const Clock& clock_;
  std::string credential_digest_;
};

}  // namespace avsync::server
