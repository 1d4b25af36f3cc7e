"""Tests of the service's own seal keys in the database: the scheme CA, document signers, issuing, publishing."""
