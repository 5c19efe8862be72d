"""The blob store the settings ask for."""

from __future__ import annotations

from vtrack.blobstore.base import BlobStore
from vtrack.blobstore.local import LocalBlobStore
from vtrack.settings import Settings


def build_blob_store(settings: Settings) -> BlobStore:
    if settings.blob_store == "s3":
        # Imported here: boto3 takes a third of a second to import, which a local-disk install never needs.
        from vtrack.blobstore.s3 import S3BlobStore

        bucket, key_id, secret = settings.s3_bucket, settings.s3_access_key_id, settings.s3_secret_access_key
        if not bucket or not key_id or secret is None:  # Settings' validator refuses this already
            raise ValueError("VTRACK_BLOB_STORE=s3 needs VTRACK_S3_BUCKET and the S3 access keys")
        return S3BlobStore(
            bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=key_id,
            secret_access_key=secret.get_secret_value(),
        )
    return LocalBlobStore(settings.resolved_blob_dir)
