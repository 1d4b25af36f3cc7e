"""The trust layer's public API: the deliberate names of `emhana.trust.__all__`, each resolving, loaded lazily."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys

import emhana.trust as trust

PUBLIC = [
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


def test_all_is_the_deliberate_sorted_list() -> None:
    assert trust.__all__ == sorted(PUBLIC)


def test_every_public_name_resolves_to_its_room() -> None:
    for name in trust.__all__:
        module, attribute = trust._EXPORTS[name]
        value = getattr(trust, name)
        assert value is getattr(importlib.import_module(module), attribute), name
        assert name in dir(trust)
    assert set(trust._EXPORTS) == set(trust.__all__)


def test_type_checkers_see_the_same_names() -> None:
    """The TYPE_CHECKING imports (what mypy sees) name the same objects as the lazy table (what runs)."""
    tree = ast.parse(inspect.getsource(trust))
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    seen = {
        alias.asname or alias.name: (node.module, alias.name)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == trust._EXPORTS


def test_unknown_names_are_attribute_errors() -> None:
    assert not hasattr(trust, "no_such_name")


def test_importing_the_layer_loads_none_of_its_rooms() -> None:
    """Tables import `emhana.trust.chain.links`; the package itself must not drag the other rooms in."""
    code = "import sys, emhana.trust; print(sorted(m for m in sys.modules if m.startswith('emhana')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['emhana', 'emhana.trust']"
