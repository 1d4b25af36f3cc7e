"""The seal scheme as this service runs it: the scheme CA and the facilities' document signers in the database
(`signers`, `rotation`), issuing seals and their register (`issue`), and the published signed lists (`publish`)."""
