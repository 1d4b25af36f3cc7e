"""Trust: facility QR seals (KZMB1), signed trust and revocation lists, the offline verifier, a demo PKI.

Follows CREDENTIALS.md §6: `KZMB1:` + base45(zlib(COSE_Sign1(CWT))), ES256 document signers certified by the
scheme CA, outcomes and check order of §6.6. Record signatures (CMS) and hash chains come later.

The service side: `signers` (scheme CA and per-facility DSCs in the database, keys encrypted by `keys`,
rotation; `signer_for`), `seals` (issuing, the register of issued seals, revoke/supersede), `publish` (the
signed lists rebuilt from the database, verification against them), `photo` (uploads), and the doors
`api` (`/trust/list`, `/trust/revocations`, `/trust/anchor.pem`, `/api/v1/verify`, `/api/v1/trust/seals/...`)
and `pages` (`/verify`).
"""
