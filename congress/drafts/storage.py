"""Uploaded files: checked by their content, kept outside the database by their SHA-256.

A file is written to a temporary name in the folder it will live in, flushed to disk, then
renamed into place (os.replace is atomic on one file system), so a reader never meets a partial
file and the same content is kept once however often it is uploaded.

What is refused, before anything is written: an empty file, one over the size limit, one whose
content is neither a Word document (.docx) nor a PDF (whatever its name says), a macro-enabled
Word document, a damaged one, and a zip bomb (declared sizes and ratios checked before anything
is unpacked).

A PDF is read by a parser (pypdf), not judged by its first and last bytes, and refused when:

- it does not parse, whatever the parser raises on it, or has no pages;
- it is encrypted, even when it opens without a password: reviewers could not be sure to read or
  print it, and nothing in it could be checked or compared (its strings and streams are ciphered);
- it holds active content anywhere reachable from its catalog (pages, annotations, form fields,
  the outline, name trees, action chains): a script (/JavaScript, /JS), an action run on
  opening (/OpenAction other than going to a page) or on events (/AA), an action that launches
  a program, submits a form, imports data or opens an embedded file, an embedded file
  (/EmbeddedFiles, /EF, file attachments), media (/Movie, /Sound, /Screen, /RichMedia, /3D), an
  XFA form;
- it has more than MAX_OBJECTS objects to walk, so a hostile file cannot keep the check busy.

Damaged cross-reference tables are repaired (strict=False), as PDF viewers do: many genuine files
have slightly wrong offsets, and the walk checks whatever a viewer would find.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from pypdf import PdfReader
from pypdf.errors import DependencyError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from congress.errors import NO_ROOM, OperationError, StorageFull, Unprocessable
from congress.papers.names import content_disposition, safe_filename

DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_MIMETYPE = "application/pdf"
MIMETYPES = {"docx": DOCX_MIMETYPE, "pdf": PDF_MIMETYPE}
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
MACRO_TYPES = ("macroEnabled", "vbaProject", "vbaData")
#: a real document unpacks to a few MB; more than this, or more parts, is not a document
MAX_UNPACKED = 100 * 1024 * 1024
MAX_PARTS = 2000
#: XML compresses well (20–50 times); a part packed more than this is a bomb
MAX_RATIO = 200
SHA256 = re.compile(r"[0-9a-f]{64}")
#: a report of a few hundred pages has some thousands of objects; more than this is not checked
MAX_OBJECTS = 100_000
#: actions that run a program or a script, send or fetch data, open embedded files or play media
ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToE", "/Rendition",
                            "/Movie", "/Sound", "/RichMediaExecute"})
#: annotations that carry files or media
ACTIVE_ANNOTATIONS = frozenset({"/FileAttachment", "/Movie", "/Sound", "/Screen", "/RichMedia", "/3D"})
#: entries that are active wherever they are: scripts, event actions, embedded files, XFA forms
ACTIVE_KEYS = ("/JS", "/JavaScript", "/AA", "/EmbeddedFiles", "/EF", "/XFA", "/RichMediaContent")


class TooLarge(OperationError):
    status = 413
    code = "upload_too_large"


@dataclass(frozen=True)
class Checked:
    format: str  #: docx or pdf
    sha256: str
    size: int


def limit_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024


def check(content: bytes) -> Checked:
    """The format of an upload from its content, or an error saying what is wrong with it."""
    if not content:
        raise Unprocessable("upload_empty")
    if len(content) > limit_bytes():
        raise TooLarge("upload_too_large", {"limit": limit_mb()})
    if content.startswith(b"%PDF-"):
        if b"%%EOF" not in content[-2048:]:
            raise Unprocessable("upload_corrupted", {"detail": "PDF"})
        _check_pdf(content)
        kind = "pdf"
    elif content.startswith(b"PK\x03\x04"):
        _check_docx(content)
        kind = "docx"
    else:
        raise Unprocessable("upload_wrong_type")
    return Checked(kind, hashlib.sha256(content).hexdigest(), len(content))


def _check_docx(content: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Unprocessable("upload_corrupted", {"detail": "zip"}) from None
    with archive:
        parts = archive.infolist()
        names = {p.filename for p in parts}
        if len(parts) > MAX_PARTS or sum(p.file_size for p in parts) > MAX_UNPACKED or any(
                p.file_size > 1024 * 1024 and p.file_size > MAX_RATIO * max(p.compress_size, 1) for p in parts):
            raise Unprocessable("upload_zip_bomb")
        if "[Content_Types].xml" not in names or "word/document.xml" not in names:
            raise Unprocessable("upload_wrong_type")
        try:
            types = archive.read("[Content_Types].xml").decode("utf-8", "replace")
            if any(marker.lower() in types.lower() for marker in MACRO_TYPES) or any(
                    n.lower().endswith(("vbaproject.bin", "vbadata.xml")) for n in names):
                raise Unprocessable("upload_macros")
            if WORD_MAIN not in types:
                raise Unprocessable("upload_wrong_type")
            damaged = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
            raise Unprocessable("upload_corrupted", {"detail": "zip"}) from None
        if damaged is not None:
            raise Unprocessable("upload_corrupted", {"detail": damaged[:80]})
    from .diff import open_document

    open_document(content)  # the Word body must parse too


def _check_pdf(content: bytes) -> None:
    """Refuse a PDF that does not parse, is encrypted, holds active content or has no pages."""
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            raise Unprocessable("upload_pdf_encrypted")
        found = _active_content(reader.root_object)
        if found is not None:
            raise Unprocessable("upload_pdf_active", {"what": found})
        if len(reader.pages) == 0:
            raise Unprocessable("upload_pdf_no_pages")
    except Unprocessable:
        raise
    except DependencyError:  # pypdf tried the empty password of an AES-encrypted file without its cipher
        raise Unprocessable("upload_pdf_encrypted") from None
    except Exception:  # hostile input makes the parser raise most anything: PdfReadError, KeyError, RecursionError…
        raise Unprocessable("upload_corrupted", {"detail": "PDF"}) from None


#: what the walk goes into; numbers, names and strings are leaves
CONTAINERS = (IndirectObject, DictionaryObject, ArrayObject)


def _active_content(catalog) -> str | None:
    """The PDF name of the first active thing reachable from the catalog, or None: every
    dictionary and array is walked once (indirect objects by their reference, so cycles end),
    without decoding any stream; more than MAX_OBJECTS objects is a refusal."""
    seen: set[tuple[int, int]] = set()
    walked = 0
    waiting = [catalog]
    while waiting:
        item = waiting.pop()
        if isinstance(item, IndirectObject):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            found = _active_entry(item)
            if found is not None:
                return found
            children = item.values()  # as written: references stay references, walked once
        elif isinstance(item, ArrayObject):
            children = item
        else:
            continue
        walked += 1
        if walked > MAX_OBJECTS:
            raise Unprocessable("upload_pdf_too_complex", {"limit": MAX_OBJECTS})
        waiting.extend(child for child in children if isinstance(child, CONTAINERS))
    return None


def _active_entry(dictionary) -> str | None:
    """What makes this one dictionary active, as its PDF name, or None."""
    for key, active in (("/S", ACTIVE_ACTIONS), ("/Subtype", ACTIVE_ANNOTATIONS), ("/Type", {"/EmbeddedFile"})):
        value = _entry(dictionary, key)
        if isinstance(value, str) and value in active:
            return str(value)
    for key in ACTIVE_KEYS:
        if key in dictionary:
            return key
    opening = _entry(dictionary, "/OpenAction")  # a destination, or going to one, opens the file at a page
    if isinstance(opening, DictionaryObject) and _entry(opening, "/S") != "/GoTo":
        return "/OpenAction"
    return None


def _entry(dictionary, key: str):
    """The value of an entry, an indirect reference followed; None when there is none."""
    return dictionary[key] if key in dictionary else None


def folder() -> Path:
    return Path(current_app.config["FILES_FOLDER"])


def path_of(sha256: str) -> Path:
    """Where the file with this hash lives: FILES_FOLDER/ab/abcdef…"""
    if not SHA256.fullmatch(sha256):
        raise ValueError("not a SHA-256")
    return folder() / sha256[:2] / sha256


def put(content: bytes, sha256: str) -> Path:
    """Keep the content under its hash (once); never leaves a partial file behind."""
    target = path_of(sha256)
    if target.exists() and target.stat().st_size == len(content):
        try:  # young again: the sweep leaves it alone until this upload's row is committed
            os.utime(target)
        except FileNotFoundError:  # swept this instant: written again below
            pass
        else:
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in NO_ROOM:
            raise StorageFull() from None
        raise
    return target


#: the temporary names files are written under before they are renamed into place
PARTIAL_PREFIXES = (".upload-", ".demo-")


def sweep(at: float | None = None):
    """Remove what a crash left in FILES_FOLDER: partial files (``.upload-*``, written by a
    process killed before the rename) and complete files that no draft version names (killed
    after the rename, before the row was committed). Only files older than FILES_GRACE_MINUTES,
    so an upload in progress (its file written, its row not yet committed) is never touched; a
    repeated upload of content already kept makes its file young again (``put``). Run by the
    scheduler on start and every few minutes; returns a notices JobResult (``created``: files
    removed)."""
    import time

    from congress.clock import today
    from congress.extensions import db
    from congress.notices.jobs import JobResult

    from .models import DraftVersion

    result = JobResult("drafts.sweep", today())
    root = folder()
    if not root.is_dir():
        return result
    cutoff = (time.time() if at is None else at) - 60 * float(current_app.config.get("FILES_GRACE_MINUTES", 10))
    named = set(db.session.execute(db.select(DraftVersion.sha256).distinct()).scalars())
    db.session.commit()
    for shelf in root.iterdir():
        if not (shelf.is_dir() and len(shelf.name) == 2):
            continue
        for path in shelf.iterdir():
            try:
                if not path.is_file() or path.stat().st_mtime > cutoff:
                    continue
                if path.name.startswith(SWEEPING):  # a sweep stopped between its two steps
                    kept = path.with_name(path.name[len(SWEEPING):])
                    if kept.name in named and not kept.exists():
                        os.replace(path, kept)
                        continue
                elif not path.name.startswith(PARTIAL_PREFIXES):  # a partial upload goes at once
                    if not SHA256.fullmatch(path.name) or path.name in named or not _set_aside(path, cutoff):
                        continue
                    path = path.with_name(SWEEPING + path.name)
                path.unlink()
            except FileNotFoundError:
                continue
            result.created += 1
            result.details.append(path.name)
    if result.created:
        import logging

        logging.getLogger(__name__).info("files sweep: %s partial or unnamed files removed", result.created)
    return result


#: a complete file being removed is first renamed to this prefix and its name
SWEEPING = ".sweep-"


def _set_aside(path: Path, cutoff: float) -> bool:
    """Rename an unnamed file out of the way, then look at its age again: an upload of the same
    content that made it young (``put``) between the first look and the rename wins, and the
    file goes back. True when the set-aside file is to be removed."""
    aside = path.with_name(SWEEPING + path.name)
    os.replace(path, aside)
    if aside.stat().st_mtime > cutoff:
        if not path.exists():
            os.replace(aside, path)
        else:
            aside.unlink()
        return False
    return True


def read(sha256: str) -> bytes:
    return path_of(sha256).read_bytes()


def limit_mb() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"])


def download_name(version) -> str:
    """"Báo cáo chính trị - dự thảo lần 2 - Phường Tứ Minh.docx": never the uploaded name."""
    from workflows.documents import DOCUMENT_KINDS

    stem = f"{DOCUMENT_KINDS[version.kind].title_vi} - dự thảo lần {version.number} - {version.unit.name}"
    return safe_filename(stem, version.format)


def send(version):
    """The stored file of a version, as a download with a safe Vietnamese-readable name."""
    from flask import abort, send_file

    path = path_of(version.sha256)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=MIMETYPES[version.format], conditional=False, etag=False)
    response.headers["Content-Disposition"] = content_disposition(download_name(version))
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def send_summary(found):
    """The compiled summary of a comment round (.docx, made on request)."""
    from flask import Response

    from .summary import summary_docx

    filename, content = summary_docx(found)
    response = Response(content, mimetype=DOCX_MIMETYPE)
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def from_request() -> tuple[str | None, bytes, str | None]:
    """(file name, content, note) of a multipart upload (field ``file``, optional ``note``); a body
    over the limit gets a clear 413 rather than the generic one."""
    from flask import request
    from werkzeug.exceptions import RequestEntityTooLarge

    try:
        upload = request.files.get("file")
        note = request.form.get("note")
    except RequestEntityTooLarge:
        raise TooLarge("upload_too_large", {"limit": limit_mb()}) from None
    if upload is None or not (upload.filename or "").strip():
        raise Unprocessable("upload_missing")
    return upload.filename, upload.stream.read(limit_bytes() + 1), note
