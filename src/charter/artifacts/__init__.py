"""The files of a version: streaming uploads, manifests, downloads and verification."""
