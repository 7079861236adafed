"""Signatures: OpenSSF model-signing bundles over a version's files, stored with the version and
checked against its manifest (the private key stays with the signer; see ``bundle``)."""
