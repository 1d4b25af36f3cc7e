"""Hash chains: the links of audit events and registered histories, and their verification (`audit verify`)."""
