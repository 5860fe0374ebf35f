"""The file store of attachments (issue 14): content addressed, a put is idempotent, a read is
checked against its key, a key is never a path; a directory that never holds half a file,
and an S3 bucket on a real S3-compatible server on localhost (moto's server)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from pydantic import ValidationError

from core.config import Settings
from store.files import FileStore, FilesUnavailable, LocalFiles, S3Files, file_store, key_of
from tests.ports import free_port

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
BUCKET = "aftersales-files"


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


def test_a_key_is_the_sha256_of_the_bytes() -> None:
    assert key_of(b"") == (
        "sha256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert key_of(PHOTO) != key_of(PHOTO + b"\0")


def the_store_keeps_files_by_their_key(files: FileStore) -> None:
    key = key_of(PHOTO)
    files.put(key, PHOTO, "image/png")
    files.put(key, PHOTO, "image/png")  # the same bytes again: harmless
    assert files.get(key) == PHOTO
    with pytest.raises(FileNotFoundError):
        files.get(key_of(b"never put"))
    with pytest.raises(ValueError, match="SHA-256"):
        files.put(key_of(b"other bytes"), PHOTO, "image/png")
    for hostile in ("sha256/../../etc/passwd", "../secret_key", "sha256/" + "A" * 64, ""):
        with pytest.raises(ValueError, match="sha256/"):
            files.get(hostile)


def test_a_directory_keeps_files_by_their_key(tmp_path: Path) -> None:
    files = LocalFiles(tmp_path / "files")
    the_store_keeps_files_by_their_key(files)
    digest = key_of(PHOTO).removeprefix("sha256/")
    kept = tmp_path / "files" / "sha256" / digest[:2] / digest
    assert kept.read_bytes() == PHOTO
    assert [p.name for p in kept.parent.iterdir()] == [digest]  # no draft left beside it
    assert (tmp_path / "files").stat().st_mode & 0o077 == 0  # the service's user alone


def test_a_write_that_fails_leaves_no_file_under_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = LocalFiles(tmp_path)
    key = key_of(PHOTO)

    def crash(*_: Any) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        files.put(key, PHOTO, "image/png")
    monkeypatch.undo()
    with pytest.raises(FileNotFoundError):
        files.get(key)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # nor a draft
    files.put(key, PHOTO, "image/png")
    assert files.get(key) == PHOTO


def test_a_file_damaged_in_the_directory_is_not_served(tmp_path: Path) -> None:
    files = LocalFiles(tmp_path)
    key = key_of(PHOTO)
    files.put(key, PHOTO, "image/png")
    digest = key.removeprefix("sha256/")
    (tmp_path / "sha256" / digest[:2] / digest).write_bytes(PHOTO[:-1])
    with pytest.raises(FilesUnavailable, match="damaged"):
        files.get(key)


def test_the_setting_chooses_the_store(tmp_path: Path) -> None:
    default = file_store(settings(tmp_path))
    assert isinstance(default, LocalFiles) and default.directory == tmp_path / "files"
    for url in (f"file://{tmp_path}/shared", str(tmp_path / "shared")):
        chosen = file_store(settings(tmp_path, files_url=url))
        assert isinstance(chosen, LocalFiles) and chosen.directory == tmp_path / "shared", url
    bucket = file_store(settings(tmp_path, files_url=f"s3://{BUCKET}/prod/"))
    assert isinstance(bucket, S3Files)
    assert (bucket.bucket, bucket.prefix) == (BUCKET, "prod/")
    assert file_store(settings(tmp_path, files_url="")).__class__ is LocalFiles  # empty: unset


@pytest.mark.parametrize(
    "url", ["s3://", "s3://A_Bucket/x", "http://example.com/files", "file://host/share"]
)
def test_a_files_url_of_no_known_store_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValidationError, match="AFTERSALES_FILES_URL"):
        settings(tmp_path, files_url=url)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server on localhost (moto's), for this module."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3's standard environment credentials, as a deployment sets them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "aftersales-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aftersales-test-secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def bucket(s3_endpoint: str, s3_credentials: None) -> str:
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    return BUCKET


def test_a_bucket_keeps_files_by_their_key(tmp_path: Path, s3_endpoint: str, bucket: str) -> None:
    files = file_store(
        settings(tmp_path, files_url=f"s3://{bucket}/branch-1", files_s3_endpoint_url=s3_endpoint)
    )
    assert isinstance(files, S3Files)
    the_store_keeps_files_by_their_key(files)
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    listed = client.list_objects_v2(Bucket=bucket, Prefix="branch-1/")["Contents"]
    assert [o["Key"] for o in listed] == [f"branch-1/{key_of(PHOTO)}"]
    kept = client.head_object(Bucket=bucket, Key=f"branch-1/{key_of(PHOTO)}")
    assert (kept["ContentType"], kept["ContentLength"]) == ("image/png", len(PHOTO))
    assert not list(tmp_path.iterdir())  # nothing in the data dir


def test_two_prefixes_of_one_bucket_are_two_stores(s3_endpoint: str, bucket: str) -> None:
    first = S3Files(bucket, "one", endpoint_url=s3_endpoint)
    second = S3Files(bucket, "two/", endpoint_url=s3_endpoint)
    key = key_of(b"%PDF-1.7 one store's")
    first.put(key, b"%PDF-1.7 one store's", "application/pdf")
    assert first.get(key) == b"%PDF-1.7 one store's"
    with pytest.raises(FileNotFoundError):
        second.get(key)


def test_a_bucket_that_does_not_answer_or_exist_is_unavailable(
    s3_endpoint: str, s3_credentials: None
) -> None:
    key = key_of(PHOTO)
    nobody = S3Files(BUCKET, endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(FilesUnavailable, match=BUCKET):
        nobody.put(key, PHOTO, "image/png")
    with pytest.raises(FilesUnavailable):
        nobody.get(key)
    missing = S3Files("no-such-bucket", endpoint_url=s3_endpoint)
    with pytest.raises(FilesUnavailable, match="no-such-bucket"):
        missing.put(key, PHOTO, "image/png")
