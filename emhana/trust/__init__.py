"""Trust: keys and certificates, record signatures, QR seals, the signed lists, the offline verifier, hash chains.

The layer sits above the registry domains and below the processes (docs/architecture.md); it knows none of their
tables: a package whose records are signed or chained registers them here (``signatures.records.register``,
``chain.links.register``). Its rooms (docs/credentials.md), each importing only the rooms listed before it:

- ``keys``: certificates (IIN/BIN in subjects, PKCS#12), ES256 keys and kids, key wrapping, the demo PKI;
- ``lists``: the signed trust list and revocation list (JWS, §6.4, §6.5) and the trust context they give;
- ``seals``: facility QR seals (§6): ``KZMB1:`` + base45(zlib(COSE_Sign1(CWT))), the offline verifier with its
  outcomes (§6.6), and EU DCC ``HC1:`` verification;
- ``scheme``: the seal scheme as this service runs it: the scheme CA and the facilities' document signers kept
  encrypted in the database (``signers``) and issued, rotated, revoked (``rotation``, §6.1), seals issued and
  registered (``issue``), the lists published from the database (``publish``);
- ``signatures``: clinicians' and organizations' detached CMS over canonical records (§4): verification
  in-process (RSA, ECDSA) or through the NCANode adapter (GOST), the trust store wired from ``Settings``, and
  the NCALayer flow (``to_sign``, ``attach_signature``) storing each signature with its evidence;
- ``chain``: the hash chains of audit events and registered histories, and ``audit verify`` (``chain.verify``).

The names below are the layer's public API (pinned by tests/trust/test_public_api.py). They load on first
access, so that importing one room (as the tables do with ``chain.links``) never drags in the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emhana.trust.chain.links import ChainKind
    from emhana.trust.chain.links import register as register_chain
    from emhana.trust.chain.verify import Report as ChainReport
    from emhana.trust.chain.verify import verify as verify_chains
    from emhana.trust.keys.certs import load_certificate, load_pkcs12, subject_bin, subject_iin
    from emhana.trust.lists.revocation import build_revocation_list, with_revocation_list
    from emhana.trust.lists.trustlist import TrustContext, build_trust_list, load_trust_list
    from emhana.trust.scheme.issue import issue_clearance as issue_clearance_seal
    from emhana.trust.scheme.issue import issue_notice as issue_notice_seal
    from emhana.trust.scheme.rotation import signer_for
    from emhana.trust.seals.cwt import Clearance, Notice
    from emhana.trust.seals.hc1 import DscList, verify_hc1
    from emhana.trust.seals.kzmb1 import SealSigner, decode_transport, encode_transport
    from emhana.trust.seals.verifier import Outcome, Result
    from emhana.trust.seals.verifier import verify as verify_seal
    from emhana.trust.signatures.cms import sign_detached, verify_detached
    from emhana.trust.signatures.evidence import Evidence
    from emhana.trust.signatures.identity import check_signer
    from emhana.trust.signatures.ncanode import NcaNodeVerifier
    from emhana.trust.signatures.records import RecordKind, Signable, SignableKind
    from emhana.trust.signatures.records import register as register_signable
    from emhana.trust.signatures.service import attach_signature, signature_of, to_sign
    from emhana.trust.signatures.truststore import TrustStore
    from emhana.trust.signatures.truststore import from_settings as trust_store_from_settings
    from emhana.trust.signatures.verifiers import SignatureVerifier

# public name -> (module, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    # keys and certificates
    "load_certificate": ("emhana.trust.keys.certs", "load_certificate"),
    "load_pkcs12": ("emhana.trust.keys.certs", "load_pkcs12"),
    "subject_bin": ("emhana.trust.keys.certs", "subject_bin"),
    "subject_iin": ("emhana.trust.keys.certs", "subject_iin"),
    "signer_for": ("emhana.trust.scheme.rotation", "signer_for"),
    # record signatures: CMS, the NCALayer flow, the verifiers (NCANode for GOST), the signable records
    "verify_detached": ("emhana.trust.signatures.cms", "verify_detached"),
    "sign_detached": ("emhana.trust.signatures.cms", "sign_detached"),
    "Evidence": ("emhana.trust.signatures.evidence", "Evidence"),
    "check_signer": ("emhana.trust.signatures.identity", "check_signer"),
    "to_sign": ("emhana.trust.signatures.service", "to_sign"),
    "attach_signature": ("emhana.trust.signatures.service", "attach_signature"),
    "signature_of": ("emhana.trust.signatures.service", "signature_of"),
    "SignatureVerifier": ("emhana.trust.signatures.verifiers", "SignatureVerifier"),
    "NcaNodeVerifier": ("emhana.trust.signatures.ncanode", "NcaNodeVerifier"),
    "TrustStore": ("emhana.trust.signatures.truststore", "TrustStore"),
    "trust_store_from_settings": ("emhana.trust.signatures.truststore", "from_settings"),
    "RecordKind": ("emhana.trust.signatures.records", "RecordKind"),
    "Signable": ("emhana.trust.signatures.records", "Signable"),
    "SignableKind": ("emhana.trust.signatures.records", "SignableKind"),
    "register_signable": ("emhana.trust.signatures.records", "register"),
    # QR seals: issuing, the KZMB1 transport, HC1
    "Clearance": ("emhana.trust.seals.cwt", "Clearance"),
    "Notice": ("emhana.trust.seals.cwt", "Notice"),
    "SealSigner": ("emhana.trust.seals.kzmb1", "SealSigner"),
    "issue_clearance_seal": ("emhana.trust.scheme.issue", "issue_clearance"),
    "issue_notice_seal": ("emhana.trust.scheme.issue", "issue_notice"),
    "encode_transport": ("emhana.trust.seals.kzmb1", "encode_transport"),
    "decode_transport": ("emhana.trust.seals.kzmb1", "decode_transport"),
    "DscList": ("emhana.trust.seals.hc1", "DscList"),
    "verify_hc1": ("emhana.trust.seals.hc1", "verify_hc1"),
    # trust and revocation lists
    "TrustContext": ("emhana.trust.lists.trustlist", "TrustContext"),
    "build_trust_list": ("emhana.trust.lists.trustlist", "build_trust_list"),
    "load_trust_list": ("emhana.trust.lists.trustlist", "load_trust_list"),
    "build_revocation_list": ("emhana.trust.lists.revocation", "build_revocation_list"),
    "with_revocation_list": ("emhana.trust.lists.revocation", "with_revocation_list"),
    # the offline verifier and its outcomes
    "verify_seal": ("emhana.trust.seals.verifier", "verify"),
    "Outcome": ("emhana.trust.seals.verifier", "Outcome"),
    "Result": ("emhana.trust.seals.verifier", "Result"),
    # hash chains and `audit verify`
    "ChainKind": ("emhana.trust.chain.links", "ChainKind"),
    "register_chain": ("emhana.trust.chain.links", "register"),
    "verify_chains": ("emhana.trust.chain.verify", "verify"),
    "ChainReport": ("emhana.trust.chain.verify", "Report"),
}

__all__ = [
    "ChainKind",
    "ChainReport",
    "Clearance",
    "DscList",
    "Evidence",
    "NcaNodeVerifier",
    "Notice",
    "Outcome",
    "RecordKind",
    "Result",
    "SealSigner",
    "Signable",
    "SignableKind",
    "SignatureVerifier",
    "TrustContext",
    "TrustStore",
    "attach_signature",
    "build_revocation_list",
    "build_trust_list",
    "check_signer",
    "decode_transport",
    "encode_transport",
    "issue_clearance_seal",
    "issue_notice_seal",
    "load_certificate",
    "load_pkcs12",
    "load_trust_list",
    "register_chain",
    "register_signable",
    "sign_detached",
    "signature_of",
    "signer_for",
    "subject_bin",
    "subject_iin",
    "to_sign",
    "trust_store_from_settings",
    "verify_chains",
    "verify_detached",
    "verify_hc1",
    "verify_seal",
    "with_revocation_list",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its room on first access (PEP 562)."""
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public API with the module's own names."""
    return sorted({*globals(), *__all__})
