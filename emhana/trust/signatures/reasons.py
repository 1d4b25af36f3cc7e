"""The reasons that fill the ``{reason}`` of signature errors; each is a catalogue message (kk/ru/en)."""

from __future__ import annotations

from emhana.kernel.i18n import N_

NOT_CMS = N_("not DER-encoded CMS SignedData")
ONE_SIGNER = N_("exactly one signer is expected")
NO_SIGNED_ATTRIBUTES = N_("the signed attributes (content type, message digest, signing time) are missing")
NO_SIGNER_CERTIFICATE = N_("the signer's certificate is not in the CMS")
SIGNING_TIME_FUTURE = N_("the signing time is in the future")
TOO_LARGE = N_("the CMS is too large")
NOT_BASE64 = N_("not base64")
NO_PATH = N_("no path to a configured trust anchor")
INVALID_PATH = N_("a certificate of the path is not valid")
NO_CRL = N_("no cached CRL of the issuer")
STALE_CRL = N_("the cached CRL of the issuer is out of date")
NO_SIGNING_USAGE = N_("its key usage allows neither digitalSignature nor nonRepudiation")
AUTH_KEY = N_("it is an authentication (AUTH) key, not a signing (SIGN) key")
IIN_NOT_AUTHOR = N_("the certificate's IIN is not the author's")
BIN_NOT_ORGANIZATION = N_("the certificate's BIN is not the organization's")
NO_IIN = N_("the certificate names no IIN")
NO_BIN = N_("the certificate names no BIN")
AUTHOR_WITHOUT_IIN = N_("the author's account is tied to no person with an IIN")
NOT_CONFIGURED = N_("no GOST verifier is configured (EMHANA_NCANODE_URL)")
TIMED_OUT = N_("the request timed out")
UNREACHABLE = N_("the service cannot be reached")
BAD_ANSWER = N_("the service gave an unexpected answer")
