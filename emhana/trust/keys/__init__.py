"""Keys and certificates: reading certificates, the demo PKI, the seal scheme CA and document signers."""
