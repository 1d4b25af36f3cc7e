"""Identity: IIN/BIN, persons, identity documents and legal representation."""
