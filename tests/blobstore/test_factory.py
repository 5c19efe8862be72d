"""Settings to a blob store: local by default, S3 when asked and complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.blobstore.conftest import BUCKET
from tests.peers.moto_s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from vtrack.blobstore import LocalBlobStore, build_blob_store
from vtrack.blobstore.s3 import S3BlobStore
from vtrack.settings import Settings


def test_default_is_a_directory_in_the_data_dir(tmp_path: Path) -> None:
    store = build_blob_store(Settings(data_dir=tmp_path))
    assert isinstance(store, LocalBlobStore) and store.root == tmp_path / "blobs"


def test_blob_dir_overrides(tmp_path: Path) -> None:
    store = build_blob_store(Settings(data_dir=tmp_path, blob_dir=tmp_path / "elsewhere"))
    assert isinstance(store, LocalBlobStore) and store.root == tmp_path / "elsewhere"


def test_s3_without_bucket_or_keys_names_the_variables(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(data_dir=tmp_path, blob_store="s3")
    message = str(refused.value)
    for name in ("VTRACK_S3_BUCKET", "VTRACK_S3_ACCESS_KEY_ID", "VTRACK_S3_SECRET_ACCESS_KEY"):
        assert name in message
    with pytest.raises(ValidationError, match="VTRACK_S3_SECRET_ACCESS_KEY") as refused:
        Settings(data_dir=tmp_path, blob_store="s3", s3_bucket="b", s3_access_key_id="k")
    assert "VTRACK_S3_BUCKET" not in str(refused.value)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VTRACK_BLOB_STORE", "s3")
    monkeypatch.setenv("VTRACK_S3_BUCKET", "footage")
    monkeypatch.setenv("VTRACK_S3_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("VTRACK_S3_SECRET_ACCESS_KEY", "s3-secret-value-x9")
    settings = Settings(data_dir=tmp_path)
    assert (settings.blob_store, settings.s3_bucket) == ("s3", "footage")
    assert settings.s3_secret_access_key is not None and "s3-secret-value-x9" not in repr(settings)


async def test_s3_settings_build_a_working_store(s3_endpoint: str, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        blob_store="s3",
        s3_bucket=BUCKET,
        s3_prefix="from-settings",
        s3_endpoint_url=s3_endpoint,
        s3_region=REGION,
        s3_access_key_id=ACCESS_KEY_ID,
        s3_secret_access_key=SECRET_ACCESS_KEY,  # type: ignore[arg-type]  # pydantic converts to SecretStr
    )
    store = build_blob_store(settings)
    assert isinstance(store, S3BlobStore) and store.prefix == "from-settings/"
    try:
        await store.put("a.jpg", b"via settings", "image/jpeg")
        assert await store.get("a.jpg") == b"via settings"
    finally:
        await store.close()
