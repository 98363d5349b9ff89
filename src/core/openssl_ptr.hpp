#pragma once
// Owning pointers for the OpenSSL objects avsync uses: each frees its object with
// OpenSSL's own function. Only translation units that call OpenSSL include this.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>

namespace avsync::ssl {

template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* p) const { Free(p); }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Freer<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Freer<EVP_MD_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Freer<BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Freer<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Freer<OSSL_PARAM_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Freer<ECDSA_SIG_free>>;
using BioPtr = std::unique_ptr<BIO, Freer<BIO_free>>;

}  // namespace avsync::ssl
