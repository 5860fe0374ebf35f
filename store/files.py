"""Where the bytes of attachments are kept (issue 14), behind one small interface: a
directory (`LocalFiles`, the data dir's `files/` by default) or an S3-compatible bucket
(`S3Files`), chosen by `AFTERSALES_FILES_URL` (`file_store`).

Files are content addressed: a file's key is `sha256/<hex digest of its bytes>` (`key_of`),
so putting the same bytes twice is harmless, a key never comes from what a client sent (its
filename is only a record's field), and every read is checked against its key. The calls
block: async callers run them in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from core.config import Settings, private_dir

log = logging.getLogger("aftersales.files")
KEY = re.compile(r"sha256/([0-9a-f]{64})")
# A bucket's calls give up after these instead of holding a request.
S3_CONNECT_TIMEOUT_SECONDS = 5
S3_READ_TIMEOUT_SECONDS = 30
S3_ATTEMPTS = 3


class FilesUnavailable(Exception):
    """The store did not answer, or answered with an error other than 'no such file' (a
    bucket down or misconfigured, a file whose bytes no longer match its key): retry later."""


class FileStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Keeps `data` under `key` (its `key_of`); the same again changes nothing."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes kept under `key`; FileNotFoundError when there are none."""
        ...


def key_of(data: bytes) -> str:
    """The key of `data`: `sha256/<hex digest>`."""
    return f"sha256/{hashlib.sha256(data).hexdigest()}"


def _digest(key: str) -> str:
    """The hex digest `key` names; ValueError for anything else (never a path)."""
    found = KEY.fullmatch(key)
    if found is None:
        raise ValueError("a file key is sha256/<64 lowercase hex digits>")
    return found.group(1)


def _checked(key: str, data: bytes) -> None:
    if key_of(data) != key:
        raise ValueError("a file's key is the SHA-256 of its bytes (key_of)")


def _verified(key: str, data: bytes) -> bytes:
    if key_of(data) != key:
        log.error("file %s: the bytes kept no longer match their key", key)
        raise FilesUnavailable(f"file {key} is damaged in the store")
    return data


class LocalFiles:
    """Files in a directory: `<directory>/sha256/<2 hex>/<hex>`, written to a temporary file
    beside it, synced and renamed into place, so a crash never leaves half a file under a
    key. The directory is created (0700) at the first put."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        digest = _digest(key)
        return self.directory / "sha256" / digest[:2] / digest

    def put(self, key: str, data: bytes, content_type: str) -> None:
        _checked(key, data)
        path = self._path(key)
        if path.exists():  # the same bytes, by their key
            return
        if not path.parent.is_dir():
            private_dir(self.directory)
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=".draft-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(draft, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(draft)
            raise
        _sync_directory(path.parent)

    def get(self, key: str) -> bytes:
        return _verified(key, self._path(key).read_bytes())


def _sync_directory(directory: Path) -> None:
    """The rename itself survives a power loss once the directory is synced."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class S3Files:
    """Files in an S3 bucket, `<prefix>sha256/<hex>`, on AWS or an S3-compatible server at
    `endpoint_url`. Credentials come the way boto3 finds them (environment, profile, instance
    role). A bucket that does not answer or refuses is FilesUnavailable."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: str = "path",
    ) -> None:
        # Imported here: only a process configured for a bucket pays for boto3.
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        config = Config(
            connect_timeout=S3_CONNECT_TIMEOUT_SECONDS,
            read_timeout=S3_READ_TIMEOUT_SECONDS,
            retries={"max_attempts": S3_ATTEMPTS, "mode": "standard"},
            # AWS itself picks the style by the bucket's name; another server's is configured.
            s3={"addressing_style": addressing_style if endpoint_url else "auto"},
        )
        self._client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    def _object(self, key: str) -> str:
        return f"{self.prefix}sha256/{_digest(key)}"

    def put(self, key: str, data: bytes, content_type: str) -> None:
        _checked(key, data)
        with _unavailable_on_error(self.bucket, key):
            self._client.put_object(
                Bucket=self.bucket, Key=self._object(key), Body=data, ContentType=content_type
            )

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        with _unavailable_on_error(self.bucket, key):
            try:
                answer = self._client.get_object(Bucket=self.bucket, Key=self._object(key))
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    raise FileNotFoundError(key) from None
                raise
            data: bytes = answer["Body"].read()
        return _verified(key, data)


@contextlib.contextmanager
def _unavailable_on_error(bucket: str, key: str) -> Iterator[None]:
    """boto3's errors (no connection, access denied, no such bucket) as FilesUnavailable,
    logged with their reason; FileNotFoundError passes."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as error:
        log.warning("bucket %s, file %s: %s", bucket, key, error)
        raise FilesUnavailable(f"the file store (bucket {bucket}) is unavailable") from error


def file_store(settings: Settings) -> FileStore:
    """The store `settings.files_url` names: unset, `<data dir>/files`; a path or file:///path,
    that directory; s3://bucket/prefix, that bucket (with the files_s3_* settings)."""
    url = settings.files_url
    if url is None:
        return LocalFiles(settings.data_dir / "files")
    parts = urlsplit(url)
    if parts.scheme == "s3":
        return S3Files(
            parts.netloc,
            parts.path,
            endpoint_url=settings.files_s3_endpoint_url,
            region=settings.files_s3_region,
            addressing_style=settings.files_s3_addressing_style,
        )
    return LocalFiles(Path(parts.path if parts.scheme == "file" else url))
