"""The seal conformance corpus (dgc-testdata layout): the kit, the KZMB1 and HC1 cases, and the build."""
