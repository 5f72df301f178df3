"""Our own files: the CSVs we write and read back, and the ``--out`` folder written in one step.

Cells are neutralised against spreadsheet formula injection (the OWASP rule): a text cell that
starts with ``= + - @``, a tab or a carriage return gets a leading ``'``, so Excel, LibreOffice
and Sheets show it as text instead of running it. A leading ``'`` is escaped the same way, which
makes the scheme reversible: ``read_csv_rows`` strips exactly one ``'`` and gets back the value
that was written. Plain numbers (``-0.35``, ``+2``) are left as they are.

The ``--out`` folder is written as a whole or not at all:

- one run at a time: a lock (``flock``) on a file in a work folder beside ``--out``
  (``.<name>.cohort-solver/``), held for the whole command, so a run that reads ``--out``
  (``match`` reads ``allocation.csv``) and then writes it cannot lose another run's result;
- the new folder is staged in that work folder and swapped in with one atomic exchange
  (``renameat2(RENAME_EXCHANGE)`` on Linux). Elsewhere two renames are used, and a run killed
  between them is repaired by the next run (the previous folder is put back);
- a staging copy left by a killed run is removed by the next run, and the work folder is removed
  on every exit path the process survives;
- a symlinked ``--out`` keeps its link: the folder it points to is replaced;
- folders are 0700 and files holding special-category data 0600, whatever the umask.
"""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
import errno
import io
import os
import re
import shutil
import stat
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cohort_solver.errors import InputError, OutputFolderError, Problem

try:  # POSIX: flock, released by the kernel when the process ends, however it ends
    import fcntl
except ImportError:  # pragma: no cover - Windows: a byte-range lock on the same file
    fcntl = None  # type: ignore[assignment]  # the module is absent on Windows: use msvcrt
    import msvcrt

# --------------------------------------------------------------------------- formula injection

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")


def neutralise(cell: Any) -> str:
    """The cell as text a spreadsheet will not evaluate (undone exactly by ``restore``)."""
    text = "" if cell is None else str(cell)
    if text.startswith(ESCAPE) or (
        text.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(text)
    ):
        return ESCAPE + text
    return text


def restore(cell: str) -> str:
    """The value ``neutralise`` was given."""
    return cell[1:] if cell.startswith(ESCAPE) else cell


def _field(text: str) -> str:
    # As csv.writer's QUOTE_MINIMAL, but a lone CR is quoted too: csv.writer leaves it bare
    # when lines end in '\n', and every reader then splits the row there.
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _line(cells: Iterable[Any]) -> str:
    fields = [_field(neutralise(c)) for c in cells]
    return (",".join(fields) if fields != [""] else '""') + "\n"


def csv_text(columns: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    """CSV with '\\n' line ends and neutralised text cells, so reruns compare byte for byte."""
    return _line(columns) + "".join(_line(row) for row in rows)


def xlsx_bytes(sheets: dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """A workbook (sheet name -> header and rows) with the same neutralising as ``csv_text``.

    Numbers (int, float, Decimal) stay numeric cells; every other value is written as a string
    cell, so openpyxl never stores a formula.
    """
    from decimal import Decimal

    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, (columns, rows) in sheets.items():
        sheet = book.create_sheet(title=neutralise(name)[:31])
        for values in [columns, *rows]:
            cells: list[str | int | float] = []
            for value in values:
                if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                    cells.append(neutralise(value))
                else:
                    cells.append(float(value) if isinstance(value, Decimal) else value)
            sheet.append(cells)
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never "f", whatever the text looks like
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- reading our CSVs


@dataclass(frozen=True)
class OwnTable:
    """One of our own CSVs read back: cells restored, with positions for problems."""

    file: str
    header: tuple[str, ...]
    rows: tuple[dict[str, str], ...]

    def row(self, index: int) -> int:
        """The spreadsheet row of ``rows[index]`` (the header is row 1)."""
        return index + 2

    def column(self, name: str) -> int:
        return self.header.index(name) + 1 if name in self.header else len(self.header) + 1

    def problem(self, index: int, column: str, message: str) -> Problem:
        return Problem(self.file, self.row(index), self.column(column), message)


def read_own_csv(path: Path, columns: Sequence[str] = (), *, label: str | None = None) -> OwnTable:
    """A CSV this program wrote (allocation.csv, matches.csv, ...), checked cell by cell.

    Anything that is not such a file (missing columns, a row of the wrong length, an
    unterminated quote, bytes that are not UTF-8, a folder in its place) is bad input at the
    ``file:row:column`` where it goes wrong.
    """
    file = label or str(path)
    records = _own_records(file, path)
    header = tuple(restore(c) for c in records[0])
    problems = [
        Problem(file, 1, len(header) + 1, f"missing column {name!r}")
        for name in columns
        if name not in header
    ]
    seen: set[str] = set()
    for number, name in enumerate(header, start=1):
        if name in seen:
            problems.append(Problem(file, 1, number, f"column {name!r} appears twice"))
        seen.add(name)
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not record:
            continue  # a trailing blank line
        if len(record) != len(header):
            column = min(len(record), len(header)) + 1
            message = f"this row has {len(record)} cells but the header has {len(header)}"
            problems.append(Problem(file, number, column, message))
            continue
        rows.append(dict(zip(header, (restore(c) for c in record), strict=True)))
    if problems:
        raise InputError(problems)
    return OwnTable(file, header, tuple(rows))


def _own_records(file: str, path: Path) -> list[list[str]]:
    """The file's CSV records, header first; refused at the first byte that is not ours."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError([Problem(file, 1, 1, f"cannot read the file: {_reason(exc)}")]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([not_utf8(file, data, exc)]) from None
    if "\0" in text:
        at = text.index("\0")
        line, column = text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1
        message = "the file holds a NUL byte: it is not a CSV"
        raise InputError([Problem(file, line, column, message)])
    records: list[list[str]] = []
    try:
        records.extend(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        message = f"not a CSV written by cohort-solver ({exc})"
        raise InputError([Problem(file, len(records) + 1, 1, message)]) from None
    if not records or not any(records[0]):
        raise InputError([Problem(file, 1, 1, "the file is empty: it needs its header row")])
    return records


def not_utf8(file: str, data: bytes, exc: UnicodeDecodeError) -> Problem:
    """Where bytes that are not UTF-8 are, as line and column (in characters)."""
    line = data.count(b"\n", 0, exc.start) + 1
    start = data.rfind(b"\n", 0, exc.start) + 1
    column = len(data[start : exc.start].decode("utf-8", errors="replace")) + 1
    return Problem(file, line, column, f"not UTF-8 text (byte 0x{data[exc.start]:02x})")


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """Read one of our own output CSVs back (allocation.csv, matches.csv, calendar.csv).

    Cells come back exactly as they were before ``csv_text`` neutralised them. A malformed
    file is an ``InputError`` at its ``file:row:column``.
    """
    return list(read_own_csv(path).rows)


def _reason(exc: OSError) -> str:
    if isinstance(exc, IsADirectoryError):
        return "it is a folder"
    return exc.strerror or type(exc).__name__


# --------------------------------------------------------------------------- the --out folder

# Special-category data (protected characteristics, scores, ring-fence membership, or counts of
# them): readable by the owner only. Everything else we write is shareable by design (feeds,
# calendar, matches), but sits in a 0700 folder anyway, so copying it out is a deliberate act.
PRIVATE_FILES = frozenset(
    {
        "allocation.csv",
        "decision_log.csv",
        "report.html",
        "panel.xlsx",
        "robustness.csv",
        "robustness.html",
        "compare.html",
        "solution.json",  # effective settings, warnings and the ring-fence objective's value
        "tokens.csv",  # the secret of every subscription URL (serve)
        "links.csv",  # names, e-mail addresses and those URLs
        "notices.csv",  # names and e-mail addresses of the people a re-plan moved
        "feedback.csv",  # each applicant's outcome in words: ring fences and scores by implication
    }
)
SHARED_FILES = frozenset({"matches.csv", "calendar.csv", "changes.csv"})
SHARED_FOLDERS = frozenset({"ics"})
OUR_NAMES = PRIVATE_FILES | SHARED_FILES | SHARED_FOLDERS
PRIVATE_MODE = 0o600
SHARED_MODE = 0o644
FOLDER_MODE = 0o700
WORK_SUFFIX = ".cohort-solver"  # the work folder beside --out: lock, staging, retired copy
LOCK_WAIT_SECONDS = 10.0  # COHORT_SOLVER_LOCK_WAIT overrides it


def lock_wait_seconds() -> float:
    raw = os.environ.get("COHORT_SOLVER_LOCK_WAIT", "")
    try:
        return max(0.0, float(raw)) if raw else LOCK_WAIT_SECONDS
    except ValueError:
        return LOCK_WAIT_SECONDS


def _fail(given: Path, message: str) -> OutputFolderError:
    return OutputFolderError(f"--out {given}: {message}")


def _limits(existing: Path) -> tuple[int, int]:
    """(longest file name, longest path) the file system holding ``existing`` allows."""
    try:
        return os.pathconf(existing, "PC_NAME_MAX"), os.pathconf(existing, "PC_PATH_MAX")
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows) or no answer
        return 255, 4096


def resolve_out(given: Path) -> Path:
    """The real folder ``--out`` names (through symlinks), or a clear refusal.

    Refused: a file, a path under a file, a symlink loop, a NUL, and names or paths longer than
    the file system allows (counting the work folder this module puts beside it).
    """
    given = Path(given)
    raw = os.fsencode(given)
    if not raw or b"\0" in raw:
        raise _fail(given, "is not a usable path")
    real = Path(os.path.realpath(os.path.abspath(given)))
    if real == real.parent:
        raise _fail(given, "is the root of the file system; give a folder of its own")
    if os.path.lexists(real) and not os.path.isdir(real):
        if os.path.islink(real):
            raise _fail(given, "is a symbolic link that leads back to itself")
        raise _fail(given, "is a file, not a folder; give a folder (it is created if missing)")
    existing = real
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not os.path.isdir(existing):
        raise _fail(given, f"{existing} is a file, so no folder can be made inside it")
    name_max, path_max = _limits(existing)
    parts = real.parts[1:]
    for number, part in enumerate(parts, start=1):
        size = len(os.fsencode(part))
        allowed = name_max - (len(WORK_SUFFIX) + 1 if number == len(parts) else 0)
        if size > allowed:
            raise _fail(
                given,
                f"the name {part[:20]!r}... is {size} bytes, longer than this file system "
                f"allows here ({allowed} bytes)",
            )
    deepest = len(os.fsencode(real.parent / f".{real.name}{WORK_SUFFIX}" / "staging" / "ics"))
    if deepest + _LONGEST_FILE_NAME > path_max:
        raise _fail(
            given,
            f"the path is {len(os.fsencode(real))} bytes, too long for this file system "
            f"(at most {path_max - _LONGEST_FILE_NAME - (deepest - len(os.fsencode(real)))})",
        )
    return real


_LONGEST_FILE_NAME = 128  # room for the file names inside, e.g. ics/participant-<id>-<hash>.ics


def _is_ours(folder: Path) -> bool:
    """An empty folder, or one holding something this program writes."""
    names = [n for n in os.listdir(folder) if not n.startswith(".")]
    return not names or any(n in OUR_NAMES for n in names)


def _libc_renameat2() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    function.argtypes += [ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _libc_renameat2()
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step; False when this system cannot (then nothing moved)."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # old kernel, or a file system without exchange (e.g. some network ones)
    raise OSError(code, os.strerror(code), str(b))


def _remove(path: Path) -> None:
    """Remove a file or folder tree, even one whose modes forbid writing (a read-only copy)."""

    def allow(function: Any, name: str, _: Any) -> None:
        parent = os.path.dirname(name)
        os.chmod(parent, stat.S_IRWXU)
        if function is not os.rmdir and os.path.isdir(name) and not os.path.islink(name):
            os.chmod(name, stat.S_IRWXU)
        function(name)

    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path, onerror=allow)


def _copy_tree(source: Path, target: Path) -> None:
    """Copy the contents only (never modes: a read-only --out gives a writable staging copy)."""
    for entry in os.scandir(source):
        to = target / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), to)
        elif entry.is_dir():
            os.mkdir(to, FOLDER_MODE)
            _copy_tree(Path(entry.path), to)
        elif entry.is_file():
            shutil.copyfile(entry.path, to)


def apply_modes(folder: Path) -> None:
    """Folders 0700; our special-category files 0600, other files of ours 0644."""
    os.chmod(folder, FOLDER_MODE)
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            continue
        top = path.relative_to(folder).parts[0]
        if path.is_dir():
            os.chmod(path, FOLDER_MODE)
        elif top in PRIVATE_FILES:
            os.chmod(path, PRIVATE_MODE)
        elif top in SHARED_FILES or top in SHARED_FOLDERS:
            os.chmod(path, SHARED_MODE)
        else:  # a file of the user's: never wider than it was, never writable by others
            os.chmod(path, stat.S_IMODE(path.stat().st_mode) & ~0o022)


def _fsync_tree(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if path.is_dir() else 0)
        try:
            fd = os.open(path, flags)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass  # some file systems cannot fsync a folder
        finally:
            os.close(fd)


_LEGACY = r"\.{name}\.(?:old\.)?[a-z0-9_]{{8}}"  # staging folders of earlier versions (mkdtemp)


class OutputFolder:
    """``--out``, locked for one run; ``staging()`` writes a new version of it in one step."""

    def __init__(self, given: Path, command: str = "cohort-solver"):
        self.given = Path(given)
        self.command = command
        self.target = resolve_out(self.given)
        self.work = self.target.parent / f".{self.target.name}{WORK_SUFFIX}"
        self.staging_path = self.work / "staging"
        self.retired = self.work / "retired"
        self.committed = False
        self._fd: int | None = None
        self._depth = 0
        self._made: list[Path] = []
        self._delegate: OutputFolder | None = None

    # ------------------------------------------------------------------ lock

    def __enter__(self) -> OutputFolder:
        held = _HELD.get(self.target)
        if held is not None:  # the same process already holds it (a command, then its write)
            held._depth += 1
            self._delegate = held
            return held
        try:
            self._make_parents()
            self._lock()
            self._recover()
            if self.target.is_dir() and not _is_ours(self.target):
                examples = ", ".join(sorted(os.listdir(self.target))[:3])
                raise _fail(
                    self.given,
                    f"holds files cohort-solver did not write ({examples}); it would be replaced "
                    "as a whole, so choose an empty or new folder",
                )
        except OSError as exc:
            self._release()
            raise _fail(self.given, f"cannot write there: {_reason(exc)}") from None
        except BaseException:
            self._release()
            raise
        self._depth = 1
        _HELD[self.target] = self
        return self

    def __exit__(self, *exc: object) -> None:
        if self._delegate is not None:
            self._delegate.__exit__(*exc)
            self._delegate = None
            return
        self._depth -= 1
        if self._depth == 0:
            _HELD.pop(self.target, None)
            self._release()

    def _make_parents(self) -> None:
        missing = []
        parent = self.target.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for folder in reversed(missing):
            folder.mkdir()
            self._made.append(folder)

    def _lock(self) -> None:
        deadline = time.monotonic() + lock_wait_seconds()
        while True:
            with suppress(FileExistsError):
                os.mkdir(self.work, FOLDER_MODE)
            try:
                os.chmod(self.work, FOLDER_MODE)
                fd = os.open(self.work / "lock", os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
            except FileNotFoundError:
                continue  # the previous holder removed the work folder just now
            try:
                _try_lock(fd)
            except (BlockingIOError, PermissionError):  # held by another run
                os.close(fd)
                if time.monotonic() >= deadline:
                    raise self._busy() from None
                time.sleep(0.05)
                continue
            except OSError:  # e.g. a file system without locks
                os.close(fd)
                raise
            try:
                same = os.fstat(fd).st_ino == os.stat(self.work / "lock").st_ino
            except FileNotFoundError:
                same = False
            if not same:  # we locked a lock file its holder had already removed: try again
                os.close(fd)
                continue
            self._fd = fd
            note = f"{os.getpid()} {datetime.now().isoformat(timespec='seconds')} {self.command}\n"
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, note.encode())
            return

    def _busy(self) -> OutputFolderError:
        try:
            pid, started, command = (self.work / "lock").read_text().split(maxsplit=2)
            who = f"'{command.strip()}' (process {pid}, started {started})"
        except (OSError, ValueError):
            who = "another cohort-solver run"
        return _fail(
            self.given,
            f"{who} is writing this folder; waited {lock_wait_seconds():g} s. Let it finish "
            "and run again, or choose another --out.",
        )

    def _recover(self) -> None:
        """Repair what a killed run left: a staging copy, or a folder moved aside."""
        if os.path.lexists(self.staging_path):
            _remove(self.staging_path)
        if os.path.lexists(self.retired):
            if os.path.lexists(self.target):
                _remove(self.retired)
            else:  # killed between the two renames of the fallback: put the last result back
                os.rename(self.retired, self.target)
        legacy = re.compile(_LEGACY.format(name=re.escape(self.target.name)))
        for entry in os.scandir(self.target.parent):
            if legacy.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                inside = set(os.listdir(entry.path))
                if inside <= OUR_NAMES | {self.target.name}:
                    _remove(Path(entry.path))

    def _release(self) -> None:
        if self._fd is not None:  # never touch the work folder of a run that holds the lock
            try:
                if os.path.lexists(self.staging_path):
                    _remove(self.staging_path)
                if os.path.lexists(self.retired) and os.path.lexists(self.target):
                    _remove(self.retired)
                os.unlink(self.work / "lock")
                os.rmdir(self.work)
            except OSError:
                pass  # the next run finds what is left and removes it
            finally:
                os.close(self._fd)
                self._fd = None
        if not self.committed:
            for folder in reversed(self._made):  # parents made for a result never written
                try:
                    folder.rmdir()
                except OSError:
                    break

    # ------------------------------------------------------------------ writing

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A private copy of ``--out`` to change; it replaces ``--out`` only if the block ends
        normally, and is removed whatever happens."""
        if self._fd is None:
            raise RuntimeError("OutputFolder.staging() outside 'with OutputFolder(...)'")
        umask = os.umask(0o077)  # whatever is written into staging is private from the start
        try:
            try:
                os.mkdir(self.staging_path, FOLDER_MODE)
                if self.target.is_dir():
                    _copy_tree(self.target, self.staging_path)
            except OSError as exc:
                raise _fail(self.given, f"cannot stage the new files: {_reason(exc)}") from None
            yield self.staging_path
            try:
                apply_modes(self.staging_path)
                _fsync_tree(self.staging_path)
                self._commit()
            except OSError as exc:
                raise _fail(self.given, f"cannot write the new files: {_reason(exc)}") from None
        finally:
            os.umask(umask)
            if os.path.lexists(self.staging_path):
                _remove(self.staging_path)

    def _commit(self) -> None:
        if not os.path.lexists(self.target):
            os.rename(self.staging_path, self.target)
        elif not exchange(self.staging_path, self.target):
            os.rename(self.target, self.retired)
            os.rename(self.staging_path, self.target)
        self.committed = True
        _fsync_tree_parent(self.target)
        if os.path.lexists(self.staging_path):  # after an exchange it holds the previous folder
            _remove(self.staging_path)
        if os.path.lexists(self.retired):
            _remove(self.retired)


def _try_lock(fd: int) -> None:
    """Lock the open lock file without waiting; OSError if another process holds it."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:  # pragma: no cover
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def _fsync_tree_parent(path: Path) -> None:
    try:
        fd = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_HELD: dict[Path, OutputFolder] = {}


@contextmanager
def output_folder(out: Path, command: str = "cohort-solver") -> Iterator[Path]:
    """Stage a copy of ``out``; swap it in only if the block succeeds.

    On any error the real folder is left exactly as it was (or not created at all). Takes the
    folder's lock unless this process holds it already.
    """
    with OutputFolder(out, command) as folder, folder.staging() as staging:
        yield staging
