"""What compressed attachments hold, for the secret scan: zip containers, gzip/bzip2/xz, a PDF's Flate streams.

A key inside a .docx (a zip of XML), a .zip or a .gz is deflated: its bytes never look like a key,
so the scan reads what is inside. Unpacking is bounded (MAX_UNPACKED bytes in all, MAX_RATIO times the
file's own size, MAX_MEMBERS entries, MAX_DEPTH levels of archives in archives) against zip bombs; an
archive that cannot be read whole within those bounds raises Unscannable, and the caller refuses to
send it (unless secrets are allowed). A PDF's FlateDecode streams are unpacked the same way; its image
streams are skipped (pixels hold no text), and streams that are not Flate are read as they are.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass
from typing import Protocol

MAX_UNPACKED = 64 * 1024 * 1024
MAX_RATIO = 200  # zip bombs expand a thousandfold and more; documents and text, tens at most
RATIO_ALLOWANCE = 1024 * 1024  # a small, very repetitive file may expand more: not worth refusing
MAX_MEMBERS = 10_000
MAX_DEPTH = 3
_CHUNK = 1 << 20
_PDF_STREAM = re.compile(rb"(?<!end)stream\r?\n")  # not the "endstream" that closes one
_PDF_IMAGE = re.compile(rb"/Subtype\s*/Image")


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Unscannable(Exception):
    """The file looks like an archive that cannot be read whole within the bounds."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(kw_only=True)
class _Budget:
    packed: int  # the outermost file's size: the ratio is over it
    unpacked: int = 0
    members: int = 0

    def take(self, size: int) -> None:
        self.unpacked += size
        if self.unpacked > MAX_UNPACKED:
            raise Unscannable(f"it unpacks to over {MAX_UNPACKED >> 20} MiB")
        if self.unpacked > self.packed * MAX_RATIO + RATIO_ALLOWANCE:
            raise Unscannable(f"it expands over {MAX_RATIO} times its size (a zip bomb?)")


def kind(data: bytes) -> str | None:
    """'zip', 'gzip', 'bzip2/xz' or 'pdf' when data may hold compressed members, else None."""
    if data.startswith(b"\x1f\x8b"):
        return "gzip"
    bzip2 = data.startswith(b"BZh") and data[4:10] in (b"1AY&SY", b"\x17rE8P\x90")  # a block, or the end
    if bzip2 or data.startswith(b"\xfd7zXZ\x00"):
        return "bzip2/xz"  # .tar.bz2, .tar.xz: a tar's own members are stored as they are
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")) or b"PK\x05\x06" in data[-(65536 + 22) :]:
        return "zip"  # the end record also finds a zip appended to another file (a self-extractor)
    return None


def unpack(data: bytes) -> list[tuple[str, bytes]]:
    """(name, bytes) of every member, nested archives flattened ("a.zip/b.txt"); raises Unscannable."""
    found: list[tuple[str, bytes]] = []
    _unpack(data, "", 0, _Budget(packed=len(data)), found)
    return found


def _unpack(data: bytes, prefix: str, depth: int, budget: _Budget, found: list[tuple[str, bytes]]) -> None:
    what = kind(data)
    if what is None:
        return
    if depth >= MAX_DEPTH:
        raise Unscannable(f"it nests archives more than {MAX_DEPTH} deep")
    readers = {"zip": _zip_members, "gzip": _gzip_members, "bzip2/xz": _bz2_xz_members, "pdf": _pdf_members}
    members = readers[what](data, budget)
    for name, content in members:
        budget.members += 1
        if budget.members > MAX_MEMBERS:
            raise Unscannable(f"it holds over {MAX_MEMBERS} members")
        found.append((prefix + name, content))
        if kind(content) is not None:
            _unpack(content, f"{prefix}{name}/", depth + 1, budget, found)


def _read_bounded(stream: _Readable, budget: _Budget) -> bytes:
    parts = []
    while chunk := stream.read(_CHUNK):
        budget.take(len(chunk))
        parts.append(chunk)
    return b"".join(parts)


def _zip_members(data: bytes, budget: _Budget) -> list[tuple[str, bytes]]:
    import zipfile

    members = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                if info.flag_bits & 0x1:
                    raise Unscannable(f"{info.filename} is encrypted")
                with archive.open(info) as member:  # checks the CRC at the end
                    members.append((info.filename, _read_bounded(member, budget)))
    except Unscannable:
        raise
    except zipfile.BadZipFile as exc:
        if not data.startswith(b"PK"):  # only an end record's signature somewhere in other binary data
            return []
        raise Unscannable(f"it is not a readable zip archive ({exc})") from None
    except (NotImplementedError, RuntimeError, EOFError, OSError, ValueError, zlib.error) as exc:
        raise Unscannable(f"it cannot be unpacked ({exc})") from None  # unknown method, lzma/bz2 errors, ...
    return members


def _gzip_members(data: bytes, budget: _Budget) -> list[tuple[str, bytes]]:
    import gzip

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:  # every concatenated member, in order
            return [("(gunzipped)", _read_bounded(stream, budget))]
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise Unscannable(f"it is not a readable gzip file ({exc})") from None


def _bz2_xz_members(data: bytes, budget: _Budget) -> list[tuple[str, bytes]]:
    import bz2
    import lzma

    opener = bz2.BZ2File if data.startswith(b"BZh") else lzma.LZMAFile
    try:
        with opener(io.BytesIO(data)) as stream:
            return [("(unpacked)", _read_bounded(stream, budget))]
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise Unscannable(f"it is not a readable bzip2 or xz file ({exc})") from None


def _pdf_members(data: bytes, budget: _Budget) -> list[tuple[str, bytes]]:
    """Each Flate stream's content; streams that do not inflate (images, other filters) are skipped."""
    members = []
    for number, match in enumerate(_PDF_STREAM.finditer(data)):
        end = data.find(b"endstream", match.end())
        if end < 0:
            break
        header = data[max(0, match.start() - 512) : match.start()]
        if _PDF_IMAGE.search(header[header.rfind(b"obj") + 1 :]):
            continue
        inflate = zlib.decompressobj()
        try:
            content = inflate.decompress(data[match.end() : end], MAX_UNPACKED - budget.unpacked + 1)
        except zlib.error:
            continue  # not Flate: the raw bytes were scanned with the file
        budget.take(len(content))
        members.append((f"stream {number + 1}", content))
    return members
