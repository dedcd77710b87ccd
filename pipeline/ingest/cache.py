"""A cache of read files, so that a re-run reads only the files it has not seen.

Where: `<outbox>/.cache/ingest.sqlite` (one SQLite file). The outbox is the pipeline's own state folder
(it already holds `.runs/` and `.lock`), whereas the inbox is never written to. The file is safe to delete
at any time; it is rebuilt by the next run.

Key: sha256 of the file's bytes + the plan fingerprint (sha256 of the plan file) + `READER_VERSION`. A
changed plan (other row codes, other limits) or a changed reader therefore never reuses an old answer;
rows of another plan or reader version are dropped when the cache is opened, so the file does not grow
without bound.

Value: `RawForm.to_dict()` as JSON without what varies between copies of the same bytes — the file name
(also inside each problem) and the modification time — which are put back from the file at hand (`data`);
and beside it a small `head`: the same without the cells, their count, the few cells every run asks of
every form (`PEEK`), and the sha256 of `data`. A re-run that also has the form's validated submission
decodes only the head (a form's ~90 cells are most of the row's decoding): the digest proves `data` to be
the text this module wrote, so the cells decode later, if ever asked for (feedback, re-validation). A head
that does not decode or whose digest does not match falls back to decoding `data`, as before.

Validated submissions (issue 12) sit beside the read forms, in the table `subs`, so that a re-run neither
reads nor validates a file it has seen: same key (the file's sha256), under a generation that also holds
`rules`, a fingerprint of the validation code and its data files (`pipeline.validate.store`), so a changed
rule drops them while the read forms stay. Their value is opaque text to this module (the validate stage
encodes it); what is stored was masked at ingest, before either table saw it. A row that does not decode is
a miss.

Not cached: answers that depend on the moment rather than the bytes (a worker crash or timeout, which may
come from memory pressure or a loaded machine; a file that could not be opened).

A cache that is corrupt, locked or unwritable is never an error: it is deleted and rebuilt once, and if
that fails too the run simply reads every file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pipeline.forms.layout import SOURCE_CODE
from pipeline.ingest.model import LazyCells, RawForm, check_cells

#: Bump when what the reader extracts from a file changes (extract.py, sniff.py): old rows are then unused.
#: "2": values, sheet names and quoted values are masked and XML-safe at ingest (rows of "1" hold raw text).
#: "3": more ИИН spellings and name forms masked; a sheet too large to read is skipped (file-sheet-skipped).
#: "4": the provenance row of an exported form (`form.source`) is read; a sum of tenge of 9–10 digits is
#: not taken for an ИИН (`mask_number(amount=True)`).
READER_VERSION = "4"
CACHE_DIR = ".cache"
CACHE_FILE = "ingest.sqlite"
#: "2": forms rows have a `head` beside `data` (see above).
SCHEMA = "2"
#: Cells every run asks of every form (the manifest's provenance): kept in the head, read without `data`.
PEEK = (SOURCE_CODE,)

#: Problems that say something about the run rather than about the file's bytes.
_TRANSIENT = frozenset({"file-reader-crashed", "file-reader-timeout", "file-unreadable"})
_CHUNK = 500  # SQLite's default limit of host parameters is 999 (older builds)


def default_cache_path(outbox: Path) -> Path:
    return Path(outbox) / CACHE_DIR / CACHE_FILE


class IngestCache:
    """Open with `IngestCache.open`; every method swallows SQLite failures (the cache then goes quiet)."""

    def __init__(self, conn: sqlite3.Connection | None, path: Path, plan_fingerprint: str, rules: str = "") -> None:
        self._conn = conn
        self.path = path
        self.generation = self._generation(plan_fingerprint)
        #: the generation of validated submissions: none are kept without a rules fingerprint
        self.sub_generation = self._generation(f"{plan_fingerprint}:{rules}") if rules else ""
        self._subs: dict[str, str] = {}
        self.hits = 0
        self.stored = 0
        self.sub_hits = 0
        self.sub_stored = 0

    @classmethod
    def open(cls, path: Path, plan_fingerprint: str, rules: str = "") -> IngestCache:
        """`rules`: fingerprint of the validation rules (`pipeline.validate.store.rules_fingerprint()`);
        empty: read forms only."""
        path = Path(path)
        for attempt in range(2):
            try:
                cache = cls(None, path, plan_fingerprint, rules)
                cache._conn = _connect(path, cls._generation(plan_fingerprint), cache.sub_generation)
                return cache
            except (sqlite3.Error, OSError):
                if attempt == 0:
                    _remove(path)  # corrupt or not a database: start afresh
        return cls(None, path, plan_fingerprint, rules)

    @staticmethod
    def _generation(plan_fingerprint: str) -> str:
        return hashlib.sha256(f"{plan_fingerprint}:{READER_VERSION}".encode()).hexdigest()[:16]

    @property
    def enabled(self) -> bool:
        return self._conn is not None

    def __len__(self) -> int:
        if self._conn is None:
            return 0
        try:
            return int(self._conn.execute("SELECT count(*) FROM forms").fetchone()[0])
        except sqlite3.Error:
            self._broken()
            return 0

    def stored_shas(self, shas: Iterable[str]) -> set[str]:
        """Which of these files' forms are stored (without decoding them)."""
        if self._conn is None:
            return set()
        wanted = sorted(set(shas))
        found: set[str] = set()
        try:
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                rows = self._conn.execute(
                    f"SELECT sha256 FROM forms WHERE sha256 IN ({','.join('?' * len(chunk))})", chunk)
                found.update(sha for (sha,) in rows)
        except sqlite3.Error:
            self._broken()
            return set()
        return found

    def get_many(self, keys: Sequence[tuple[str, str, float]]) -> dict[int, RawForm]:
        """For (sha256, name, mtime) of each file: index in `keys` → RawForm, for the files cached."""
        if self._conn is None or not keys:
            return {}
        wanted = sorted({sha for sha, _, _ in keys})
        found: dict[str, tuple[object, object]] = {}
        try:
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(f"SELECT sha256, head, CAST(data AS BLOB) FROM forms WHERE sha256 IN ({marks})", chunk)
                found.update((sha, (head, data)) for sha, head, data in rows)
                if self.sub_generation:
                    # Fetched with the forms (one query per chunk), handed out by `submission`.
                    self._subs.update(self._conn.execute(
                        f"SELECT sha256, data FROM subs WHERE gen = ? AND sha256 IN ({marks})",
                        [self.sub_generation, *chunk]))
        except sqlite3.Error:
            self._broken()
            return {}
        out: dict[int, RawForm] = {}
        for index, (sha, name, mtime) in enumerate(keys):
            head, text = found.get(sha, (None, None))
            if not isinstance(text, bytes):  # fetched as its UTF-8 bytes: hashed and decoded as they are
                continue
            if isinstance(head, str) and isinstance(self._subs.get(sha), str):
                try:  # its submission is stored too: the cells are not needed now
                    out[index] = _thaw_head(json.loads(head), text, sha, name, mtime)
                    continue
                except Exception:  # noqa: BLE001 - a head of any wrong shape: decode the whole row instead
                    pass
            try:
                out[index] = _thaw(json.loads(text), sha, name, mtime)
            except Exception:  # noqa: BLE001 - any row that does not decode (wrong shape, unknown code,
                continue  # nesting deep enough for RecursionError) is a miss, and is overwritten below
        self.hits += len(out)
        return out

    def put_many(self, forms: Iterable[RawForm]) -> None:
        if self._conn is None:
            return
        rows = [(f.sha256, *_freeze_row(f)) for f in forms if cacheable(f)]
        if not rows:
            return
        try:
            with self._conn:  # one transaction: a killed run leaves the cache as it was
                self._conn.executemany("INSERT OR REPLACE INTO forms (sha256, head, data) VALUES (?, ?, ?)", rows)
            self.stored += len(rows)
        except sqlite3.Error:
            self._broken()

    def submission(self, sha256: str) -> str | None:
        """The stored validated submission of a file whose form `get_many` returned (text, or None)."""
        text = self._subs.get(sha256)
        return text if isinstance(text, str) else None

    def put_submissions(self, rows: Sequence[tuple[str, str]]) -> None:
        """(sha256, encoded submission) of files validated in this run."""
        if self._conn is None or not self.sub_generation or not rows:
            return
        try:
            with self._conn:
                self._conn.executemany("INSERT OR REPLACE INTO subs (sha256, gen, data) VALUES (?, ?, ?)",
                                       [(sha, self.sub_generation, text) for sha, text in rows])
            self.sub_stored += len(rows)
        except sqlite3.Error:
            self._broken()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None

    def _broken(self) -> None:
        # Seen corrupt only now (SQLite reads pages lazily): go quiet and let the next run rebuild it.
        self.close()
        _remove(self.path)


def cacheable(form: RawForm) -> bool:
    return bool(form.sha256) and not any(p.code in _TRANSIENT for p in form.problems)


def _connect(path: Path, generation: str, sub_generation: str = "") -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=5, isolation_level=None)
    try:
        # The outbox lock already keeps runs apart; a rollback journal is enough and leaves no -wal file.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        if meta.get("schema") != SCHEMA:
            with conn:  # rows of another layout: the tables themselves are made again
                conn.execute("DROP TABLE IF EXISTS forms")
                conn.execute("DROP TABLE IF EXISTS subs")
        conn.execute("CREATE TABLE IF NOT EXISTS forms (sha256 TEXT PRIMARY KEY, head TEXT NOT NULL, data TEXT NOT NULL)")
        conn.execute("CREATE TABLE IF NOT EXISTS subs (sha256 TEXT PRIMARY KEY, gen TEXT NOT NULL, data TEXT NOT NULL)")
        if sub_generation:
            # Submissions of other rules are never used again: drop them (the file does not grow).
            with conn:
                conn.execute("DELETE FROM subs WHERE gen != ?", (sub_generation,))
        if meta.get("schema") != SCHEMA or meta.get("generation") != generation:
            with conn:
                conn.execute("DELETE FROM forms")
                conn.execute("DELETE FROM subs")
                conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                 [("schema", SCHEMA), ("generation", generation)])
        conn.isolation_level = ""  # back to implicit transactions, used through `with conn`
    except BaseException:
        conn.close()
        raise
    return conn


def _remove(path: Path) -> None:
    for extra in ("", "-journal", "-wal", "-shm"):
        try:
            Path(f"{path}{extra}").unlink(missing_ok=True)
        except OSError:
            pass


def _freeze(form: RawForm) -> dict[str, Any]:
    data = form.to_dict()
    del data["name"], data["mtime"], data["sha256"]
    for problem in data["problems"]:
        problem["file"] = None  # always the file's own name: put back on the way out
    return data


def _freeze_row(form: RawForm) -> tuple[str, str]:
    """(head, data) of a form's row: see the module's docstring."""
    data = _freeze(form)
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    cells = data.pop("cells")
    head = dict(data, digest=_digest(text), count=len(cells), peek={code: cells.get(code) for code in PEEK})
    return json.dumps(head, ensure_ascii=False, separators=(",", ":")), text


def _digest(text: str | bytes) -> str:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


def _thaw(data: dict[str, Any], sha256: str, name: str, mtime: float) -> RawForm:
    data = dict(data, name=name, mtime=mtime, sha256=sha256)
    data["problems"] = [dict(p, file=name) for p in data["problems"]]
    return RawForm.from_dict(data, lazy=True)


def _thaw_head(head: dict[str, Any], text: bytes, sha256: str, name: str, mtime: float) -> RawForm:
    """A form from its head, its cells left as `text` (decoded when first asked for). Raises unless the
    digest proves `text` to be the row this module wrote, and on a head of any wrong shape."""
    if type(head) is not dict or head.get("digest") != _digest(text):
        raise ValueError("the form's row is not the one its head describes")
    peek = head["peek"]
    if type(peek) is not dict or set(peek) != set(PEEK):
        raise ValueError("peek: expected the cells of PEEK")
    check_cells({code: cell for code, cell in peek.items() if cell is not None})
    count = head["count"]
    if type(count) is not int or count < sum(cell is not None for cell in peek.values()):
        raise ValueError("count: expected the number of cells")
    cells = LazyCells(stored=text, count=count, peek=peek)
    data = dict(head, name=name, mtime=mtime, sha256=sha256)
    data["problems"] = [dict(p, file=name) for p in data["problems"]]
    return RawForm.from_dict(data, cells=cells)
