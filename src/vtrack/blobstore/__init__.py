"""Where binary artefacts (snapshots and their thumbnails) live: a local directory, or an S3 bucket.

`S3BlobStore` lives in `vtrack.blobstore.s3` and is not imported here, so that installs on local disk
never pay for importing boto3; `build_blob_store` imports it when the settings ask for S3.
"""

from vtrack.blobstore.base import BlobNotFoundError, BlobStore, BlobStoreError, validate_key
from vtrack.blobstore.factory import build_blob_store
from vtrack.blobstore.local import LocalBlobStore

__all__ = [
    "BlobNotFoundError",
    "BlobStore",
    "BlobStoreError",
    "LocalBlobStore",
    "build_blob_store",
    "validate_key",
]
