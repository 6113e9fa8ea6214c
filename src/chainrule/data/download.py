"""Downloads that are checked before they are kept, and the cache they are kept in.

A file is streamed into a temporary file beside its destination while its SHA-256
is computed; only a file whose hash matches is renamed into place. A mismatch
deletes it and raises DataError, so a bad or tampered download never lands in the
cache under its real name. Only urllib is used (no third-party HTTP library).

>>> cache_dir("mnist").parts[-2:]
('chainrule', 'mnist')
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ..atomic import atomic_write
from .errors import DataError

__all__ = ["cache_dir", "sha256sum", "download"]

_CHUNK = 1 << 20


class DownloadFailed(DataError):
    """The server could not be reached or did not send the whole file.

    Kept apart from a checksum mismatch so that a caller can try another mirror
    or explain how to get the files by hand, while a mismatch is reported as is.
    """


def cache_dir(name: str | None = None) -> Path:
    """The folder downloads go to: $XDG_CACHE_HOME/chainrule[/name], else ~/.cache/chainrule.

    A relative $XDG_CACHE_HOME is ignored, as the XDG base directory spec asks.

    >>> cache_dir().name
    'chainrule'
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    root = base / "chainrule"
    return root / name if name else root


def sha256sum(path: str | os.PathLike) -> str:
    """The SHA-256 of a file as lowercase hex, read in chunks (big files, little memory).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "empty")
    >>> open(p, "wb").close()
    >>> sha256sum(p)[:16]
    'e3b0c44298fc1c14'
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def download(
    url: str,
    path: str | os.PathLike,
    sha256: str,
    *,
    timeout: float = 60.0,
    max_bytes: int = 1 << 30,
) -> Path:
    """Download `url` to `path` atomically, keeping it only if its SHA-256 is `sha256`.

    Creates the parent folder. Raises DataError on a checksum mismatch (the
    download is deleted), on a response longer than `max_bytes`, and when the
    server cannot be reached (a DownloadFailed, a DataError subclass).

    >>> download("ftp://example.org/x.gz", "/tmp/x.gz", "0" * 64)
    Traceback (most recent call last):
    chainrule.data.download.DownloadFailed: ftp://example.org/x.gz: only http and https URLs can be downloaded
    """
    target = Path(path)
    expected = sha256.strip().lower()
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DownloadFailed(f"{url}: only http and https URLs can be downloaded")
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise DataError(f"{target.name}: {sha256!r} is not a SHA-256 hex digest")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{target.parent}: cannot create the download folder ({_one_line(e)})") from e
    request = urllib.request.Request(url, headers={"User-Agent": "chainrule"})
    h = hashlib.sha256()
    try:
        with atomic_write(target) as out:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                total, declared = 0, response.headers.get("Content-Length")
                while chunk := response.read(_CHUNK):
                    total += len(chunk)
                    if total > max_bytes:
                        raise DataError(f"{url}: response larger than {max_bytes} bytes, download abandoned")
                    h.update(chunk)
                    out.write(chunk)
                # read(n) returns what arrived when the server closes early, without raising
                # IncompleteRead: a short body is a failed download (try the next mirror),
                # not a file with a wrong hash
                if declared is not None and declared.isdigit() and total < int(declared):
                    raise http.client.IncompleteRead(b"", int(declared) - total)
            digest = h.hexdigest()
            if digest != expected:
                # Raising inside atomic_write deletes the temporary file: nothing is kept.
                raise DataError(
                    f"{target.name}: SHA-256 mismatch for {url}: expected {expected}, "
                    f"got {digest}; the downloaded file was deleted"
                )
    except (OSError, http.client.HTTPException) as e:
        # URLError, HTTPError, timeouts and refused connections are all OSErrors;
        # a connection cut mid-body is an http.client.IncompleteRead.
        if isinstance(e, urllib.error.HTTPError):
            reason = f"HTTP {e.code} {e.reason}"
        elif isinstance(e, urllib.error.URLError):
            reason = e.reason
        else:
            reason = e
        raise DownloadFailed(f"{url}: {_one_line(reason)}") from e
    return target


def _one_line(obj) -> str:
    return " ".join(str(obj).split()) or type(obj).__name__
