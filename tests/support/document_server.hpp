#pragma once
// For tests: a loopback HTTP server that answers every GET with one JSON document (a JWKS,
// say), which the test may change, take down and bring back on the same port.

#include <cstdint>
#include <memory>
#include <string>

namespace avsync::testing {

class DocumentServer {
 public:
  explicit DocumentServer(std::string document);
  ~DocumentServer();  // stops serving, joins its thread
  DocumentServer(const DocumentServer&) = delete;
  DocumentServer& operator=(const DocumentServer&) = delete;

  std::string url() const;  // http://127.0.0.1:<port>/jwks.json
  void set_document(std::string document);
  // Down: connections to the port are refused. Up again: served on the same port.
  void take_down();
  void bring_up();
  int requests() const;  // GETs answered so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace avsync::testing
