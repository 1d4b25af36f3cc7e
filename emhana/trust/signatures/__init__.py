"""Record signatures: clinicians' and organizations' detached CMS signatures over canonical records.

Public API (stable; the FHIR inbound sync uses the first three):

- ``cms.verify_detached(data, cms_der, *, anchors, crls, at=None, intermediates=(), gost=None) -> Evidence``
  verifies a detached CMS SignedData over ``data``: message digest, signature over the signed attributes
  (RSA and ECDSA in-process; GOST through a ``verifiers.SignatureVerifier`` such as the NCANode adapter),
  the path to the ``anchors``, validity at the signing time, revocation from the cached ``crls`` (offline)
  and key usage. It raises an ``emhana.kernel.errors.SignatureError`` subclass with a stable code.
- ``identity.check_signer(evidence, iin=..., bin_=...)`` refuses a certificate whose SERIALNUMBER=IIN… is
  not the author's or whose OU=BIN… is not the organization's (``signature.wrong_signer``).
- ``cms.sign_detached(data, key, cert, chain) -> bytes`` makes such a CMS (demo signing, tests).
- ``canonical``: the RFC 8785 forms that are signed (journal entry, correction, attachment notice).
- ``service.to_sign`` / ``service.attach_signature`` / ``service.sign_record``: the NCALayer flow and storage
  in ``record_signature`` (``models.RecordSignature``); ``api`` is its door under /api/v1/signatures.
"""
