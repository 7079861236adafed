"""Content-addressed artifact bytes: each blob stored once under its SHA-256, on local disk or S3.

Uploads stream into a temporary file while they are hashed and become visible only whole, under
their digest; reads stream, with byte ranges. ``open_blob_store`` picks the store from the
configured artifact root.
"""

from charter.blobs.base import BlobInfo, BlobStore, BlobWriter
from charter.blobs.factory import S3Options, open_blob_store

__all__ = ["BlobInfo", "BlobStore", "BlobWriter", "S3Options", "open_blob_store"]
