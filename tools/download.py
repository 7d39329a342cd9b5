"""Fetch a public event log whose SHA-256 you know: ``python tools/download.py URL DEST SHA256``.

The course never downloads anything; this is for learners who want a real log (REES46, Taobao,
RetailRocket) for ``course_lib.events.load_events``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from course_lib.data import _sha256_of


def download(url: str, dest: str | Path, sha256: str) -> Path:
    """Download ``url`` to ``dest`` and verify its SHA-256; return ``dest``.

    The file is written to a temporary ``.part`` file next to ``dest`` and
    renamed only when its checksum matches, so a failed or corrupted download
    never leaves a partial file behind. If ``dest`` already exists with the
    right checksum, nothing is downloaded. Accepts https://, http:// and file:// URLs.
    """
    sha256 = str(sha256).lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ("https", "http", "file"):
        raise ValueError(f"url must start with https://, http:// or file://, got {url!r}")
    dest = Path(dest)
    if dest.exists():
        actual = _sha256_of(dest)
        if actual == sha256:
            print(f"{dest} is already here and verified")
            return dest
        raise ValueError(f"{dest} already exists with a different SHA-256 ({actual[:12]}..., expected "
                         f"{sha256[:12]}...); delete it to download it again")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
        actual = h.hexdigest()
        if actual != sha256:
            raise ValueError(f"{dest}: the download from {url} has SHA-256 {actual}, expected {sha256}; "
                             "the file was not saved (check the URL and the checksum)")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"downloaded {url} to {dest} (SHA-256 verified)")
    return dest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Download a file and verify its SHA-256.")
    parser.add_argument("url")
    parser.add_argument("dest")
    parser.add_argument("sha256")
    args = parser.parse_args(argv)
    download(args.url, args.dest, args.sha256)


if __name__ == "__main__":
    main()
