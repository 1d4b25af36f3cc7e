"""Signed lists: the trust list and the revocation list (JWS), and their publication from the database."""
