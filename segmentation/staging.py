"""A run's outputs as one set: prepared aside, then swapped in whole, or not at all.

Every command that writes a folder (``segment run``, ``rfm``, ``learn``, ``monitor``) writes it
through :func:`output_set`::

    with output_set(out, command="run", parameters=config.parameters(), known=FILES) as stage:
        write_csv_atomic(table, stage.path("customers_segmented.csv"))
        paths["customers"] = stage.final("customers_segmented.csv")   # where it will be
    # Here `out` holds the new set and its manifest.json. Had the block raised (or the process
    # died), `out` would hold the previous set, untouched.

What happens, in order:

1. **Lock.** ``.<name>.segment-lock`` beside ``out`` is locked (``flock``; on Windows
   ``msvcrt.locking``) and records the PID, host and start time. A second run into the same
   folder is refused with one sentence naming them. The kernel drops the lock when its process
   dies, however it dies, so the lock file of a killed run is simply taken over by the next run.
   Where the filesystem has no locks (some network filesystems), the recorded PID decides: a
   lock whose process is not alive on this host is taken over; one from another host is
   respected (its message says which file to delete if that run is gone).
2. **Recover.** Under the lock, whatever a dead run left beside ``out`` is removed: staging
   folders, half-deleted old sets; and a previous set that was renamed aside when the run died
   between the two renames of step 6 is put back in place.
3. **Check.** ``out`` may only hold a previous run's files: those its ``manifest.json`` lists
   or, for a folder written before manifests, the names the command writes (``known``). The
   run replaces the whole folder, so anything else is the user's and the run is refused
   (one sentence naming the files) rather than deleting it. ``out`` may not be the current
   folder or hold it, nor be a mount point.
4. **Stage.** The caller writes into ``.<name>.segment-staging-<run id>``, beside ``out``:
   same parent, so the same filesystem, so the swap is a rename and never a copy.
5. **Manifest.** ``manifest.json`` is written last: every file with its path, size and
   sha256, the run's id, the command, its parameters, the package version, the start and
   finish times. :func:`verify_output_set` checks a folder against it.
6. **Swap.** On Linux, ``renameat2(RENAME_EXCHANGE)`` exchanges the staging folder and ``out``
   in one atomic step: a reader sees the whole previous set or the whole new one. Elsewhere
   (macOS, Windows, filesystems that refuse the exchange) it takes two renames: ``out`` aside
   to ``.<name>.segment-previous-<run id>``, then the staging folder to ``out``. A process
   killed between the two leaves no ``out`` for that instant; the next run (step 2) renames
   the previous set back before anything else. A first run renames its staging folder in.
7. **Discard** the old set: renamed to ``.<name>.segment-trash-<run id>``, then deleted, so a
   half-deleted folder is never taken for a set.

A folder rename is one atomic metadata operation on local POSIX filesystems (ext4, xfs, btrfs,
tmpfs, APFS). On filesystems where it is not (some network and FUSE filesystems copy a folder
to rename it; Windows refuses to rename a folder while a program holds a file in it open, and
the run then stops with the previous set put back), a process killed during the swap can leave
``out`` holding part of a set: its manifest then does not verify, and the next run still
replaces it whole.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .errors import SegmentationError
from .io import pause_point, to_jsonable

__all__ = [
    "MANIFEST",
    "DATASET_MANIFEST",
    "OutputSet",
    "output_set",
    "output_file",
    "refuse_inside_output_set",
    "output_set_problems",
    "verify_output_set",
]

#: The file that makes a folder one whole run (written last into every set).
MANIFEST = "manifest.json"
#: Its name in a folder that Parquet readers take as one dataset (they skip names starting
#: with "_", as Spark's _SUCCESS): the Parquet parts of ``segment predict --engine dask``.
DATASET_MANIFEST = "_manifest.json"
_MANIFESTS = (MANIFEST, DATASET_MANIFEST)
#: Version of the manifest's layout.
MANIFEST_FORMAT = 1
#: Test hook: "rename" makes the swap take two renames even where the exchange works.
SWAP_VARIABLE = "SEGMENT_TEST_SWAP"

_CHUNK = 1 << 20
# The names of this module's folders beside `out`: .<name>.segment-<kind>-<run id>
_LEFTOVER = re.compile(r"(staging|previous|trash)-[0-9a-f]{32}")
# A temporary file that io.write_bytes_atomic leaves beside its target when killed mid-write.
_TEMPORARY = re.compile(r"\.(.+)\.[A-Za-z0-9_]{8}\.tmp")

logger = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class OutputSet:
    """A set of outputs being prepared: write into :meth:`path`, report :meth:`final`.

    Attributes
    ----------
    out : pathlib.Path
        The output folder, as given: where the set will be.
    folder : pathlib.Path
        The staging folder the files are written into.
    run_id : str
        The run's id (a UUID), recorded in the manifest.
    started : str
        UTC start time, ISO 8601.
    manifest : dict or None
        The manifest, once the set is complete and in place.
    """

    out: Path
    folder: Path
    run_id: str
    started: str
    manifest: dict | None = field(default=None)

    def path(self, relative) -> Path:
        """Where to write the file ``relative`` (such as ``"plots/elbow.png"``) now; its folder
        is created."""
        target = self.folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def final(self, path) -> Path:
        """Where a file of the set will be once it is in place: ``relative`` or a path
        returned by :meth:`path`, inside ``out``."""
        path = Path(path)
        if path.is_absolute():
            path = path.relative_to(self.folder)
        return self.out / path


# --------------------------------------------------------------------------- the set


@contextmanager
def output_set(
    out, *, command: str, parameters: dict, known: Iterable[str] = (), manifest: str = MANIFEST
) -> Iterator[OutputSet]:
    """Prepare a run's outputs aside and put them in place together (see the module docstring).

    Parameters
    ----------
    out : str or os.PathLike
        The output folder. It is created if missing; if it exists it must hold only a previous
        run's files.
    command : str
        What writes the set (``"run"``, ``"rfm"``, ``"learn"`` ...), recorded in the manifest.
    parameters : dict
        The run's parameters (JSON-like), recorded in the manifest.
    known : iterable of str
        Every file the command may write, relative to ``out`` (``"plots/pca.png"``): in a
        folder without a manifest (written by an older version), these are recognised as a
        previous run's and replaced; a folder listed here stands for everything inside it.
    manifest : str
        The manifest's name: :data:`MANIFEST`, or :data:`DATASET_MANIFEST` for a folder of
        Parquet parts that readers take as one dataset.

    Yields
    ------
    OutputSet
        Write into ``stage.path(relative)``. When the block ends normally, ``manifest.json`` is
        written and the set swapped into ``out``; ``stage.manifest`` then holds the manifest.
        When it raises, the staging folder is removed and ``out`` is left as it was.

    Raises
    ------
    SegmentationError
        If ``out`` is a file, the current folder, a mount point, cannot be created, sits in a
        folder that cannot be written, holds files that are not a previous run's, or another
        run is writing to it.
    """
    started = _now()
    given = Path(out)
    target = _check_target(given)
    lock = _Lock(_sibling(target, "lock"), given, "Output folder")
    lock.acquire()
    try:
        _recover(target)
        _refuse_foreign_files(target, given, known)
        run_id = uuid.uuid4().hex
        staging = _sibling(target, f"staging-{run_id}")
        staging.mkdir()
        stage = OutputSet(given, staging, str(uuid.UUID(run_id)), started)
        try:
            yield stage
            document = _write_manifest(stage, command, parameters, manifest)
            _fsync_tree(staging)
            _swap_in(staging, target, run_id)
            stage.manifest = document
        except BaseException:
            if staging.exists():
                _discard(staging)
            raise
    finally:
        lock.release()


@contextmanager
def output_file(path) -> Iterator[Path]:
    """Write a single output file under the same lock as :func:`output_set`.

    The file itself is written atomically by the caller (``io.write_*_atomic``). Under the
    lock, the temporary files that dead writers of ``path`` left beside it are removed first.

    Yields
    ------
    pathlib.Path
        ``path``.

    Raises
    ------
    SegmentationError
        If another process is writing ``path``, or its folder cannot be written.
    """
    given = Path(path)
    folder = Path(os.path.abspath(given)).parent  # where io.write_bytes_atomic puts its temporary
    lock = _Lock(folder / f".{given.name}.segment-lock", given, "Output file")
    lock.acquire()
    try:
        for entry in os.scandir(folder):
            temporary = _TEMPORARY.fullmatch(entry.name)
            if temporary and temporary[1] == given.name and entry.is_file():
                _unlink(Path(entry.path))
        yield given
    finally:
        lock.release()


def refuse_inside_output_set(path) -> None:
    """Refuse to write a file of another kind into a run's output folder, which the next run
    replaces whole (and whose manifest it would contradict).

    Raises
    ------
    SegmentationError
        If the folder of ``path`` holds a ``manifest.json``.
    """
    folder = Path(path).parent
    manifest = _manifest_of(folder)
    if manifest is not None:
        raise SegmentationError(
            f"'{folder}' is a run's output folder (it has a {manifest.name}), which the next run "
            f"replaces whole; write '{Path(path).name}' somewhere else with `out`."
        )


def _sibling(target: Path, kind: str) -> Path:
    return target.parent / f".{target.name}.segment-{kind}"


def _check_target(given: Path) -> Path:
    """The real path of the output folder, after the checks that need no lock."""
    target = Path(os.path.realpath(given))
    if target.exists() and not target.is_dir():
        raise SegmentationError(
            f"Output folder '{given}' is an existing file; choose another `out` folder."
        )
    here = Path(os.path.realpath(os.getcwd()))
    if target == here or target in here.parents:
        raise SegmentationError(
            f"Output folder '{given}' is the current folder or holds it, and a run replaces "
            f"its output folder as a whole; give a folder inside it, such as {given / 'outputs'}."
        )
    if target.exists() and os.path.ismount(target):
        raise SegmentationError(
            f"Output folder '{given}' is a mount point, which cannot be replaced as a whole; "
            f"give a folder inside it, such as {given / 'outputs'}."
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SegmentationError(
            f"Output folder '{given}' cannot be created ({_reason(exc)}); "
            "choose another `out` folder."
        ) from None
    return target


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _refuse_foreign_files(target: Path, given: Path, known: Iterable[str]) -> None:
    """Refuse an output folder holding anything that is not a previous run's."""
    if not target.is_dir():
        return
    ours = {*_MANIFESTS, *known, *_listed_files(target)}
    folders = {parent.as_posix() for name in ours for parent in Path(name).parents}
    foreign = []
    for root, dirs, files in os.walk(target):
        relative = Path(root).relative_to(target)
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = (relative / name).as_posix()
            temporary = _TEMPORARY.fullmatch(name)
            if temporary and (relative / temporary[1]).as_posix() in ours:
                continue
            if not ours.intersection([path, *(p.as_posix() for p in Path(path).parents)]):
                foreign.append(path)
        if not files and not dirs and relative.as_posix() not in folders | ours:
            foreign.append(relative.as_posix() + "/")
    if foreign:
        shown = ", ".join(sorted(foreign)[:3]) + (", ..." if len(foreign) > 3 else "")
        raise SegmentationError(
            f"Output folder '{given}' holds {_files(len(foreign))} that no segment run wrote "
            f"({shown}), and a run replaces the whole folder; move them, or choose another "
            "`out` folder."
        )


def _files(n: int) -> str:
    return "1 file" if n == 1 else f"{n} files"


def _listed_files(folder: Path) -> list[str]:
    """The files a folder's manifest lists (none if it has no readable manifest)."""
    path = _manifest_of(folder)
    if path is None:
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return [str(entry["path"]) for entry in document["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _recover(target: Path) -> None:
    """Clean what dead runs left beside ``target``; put back a set left aside by a swap."""
    prefix = f".{target.name}.segment-"
    leftovers = {}
    for entry in os.scandir(target.parent):
        match = _LEFTOVER.fullmatch(entry.name[len(prefix) :])
        if entry.name.startswith(prefix) and match:
            leftovers[Path(entry.path)] = match[1]
    aside = [path for path, kind in leftovers.items() if kind == "previous"]
    if aside and not os.path.lexists(target):
        # A swap died between its two renames: the previous set is whole; put it back.
        restored = max(aside, key=lambda path: path.stat().st_mtime)
        os.rename(restored, target)
        _fsync_dir(target.parent)
        del leftovers[restored]
        logger.warning("Put back the previous outputs in %s (a run had stopped mid-swap).", target)
    for path in leftovers:
        _discard(path)


def _discard(path: Path) -> None:
    """Delete a folder of ours beside the output: renamed to a trash name first, so that a
    half-deleted folder is never taken for a whole set."""
    head, _, tail = path.name.rpartition(".segment-")
    if not tail.startswith("trash-"):
        trash = path.with_name(f"{head}.segment-trash-{uuid.uuid4().hex}")
        try:
            os.rename(path, trash)
            path = trash
        except OSError:
            pass
    pause_point(f"deleting {path.name}")
    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- the swap


def _swap_in(staging: Path, target: Path, run_id: str) -> None:
    """Put the staging folder at ``target`` (see steps 6 and 7 of the module docstring)."""
    if target.exists():
        # The new set keeps the folder's permissions (a shared group folder stays shared).
        os.chmod(staging, target.stat().st_mode & 0o7777 | 0o700)
    pause_point("set complete, about to swap")
    if os.environ.get(SWAP_VARIABLE) != "rename" and _exchange(staging, target):
        _fsync_dir(target.parent)
        pause_point("swapped")
        _discard(staging)  # now the previous set
        return
    if not os.path.lexists(target):
        os.rename(staging, target)
        _fsync_dir(target.parent)
        return
    previous = _sibling(target, f"previous-{run_id}")
    os.rename(target, previous)
    pause_point("previous set renamed aside")
    try:
        os.rename(staging, target)
    except BaseException:  # refused (Windows: a file held open), or interrupted: put it back
        if not os.path.lexists(target):
            os.rename(previous, target)
        raise
    _fsync_dir(target.parent)
    pause_point("new set renamed in")
    _discard(previous)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Exchange two folders atomically (Linux ``renameat2``); False where that is unavailable
    (another system, an old C library, a filesystem that refuses it) or ``b`` is missing."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOENT, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _fsync_dir(path: Path) -> None:
    """Make a folder's entries durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for root, _, _ in os.walk(folder):
        _fsync_dir(Path(root))


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


# --------------------------------------------------------------------------- the manifest


def _write_manifest(stage: OutputSet, command: str, parameters: dict, name: str) -> dict:
    from .io import write_json_atomic

    pause_point("writing the manifest")
    manifest = {
        "manifest_format": MANIFEST_FORMAT,
        "package": "kmeans-segment",
        "version": __version__,
        "run_id": stage.run_id,
        "command": command,
        "parameters": to_jsonable(parameters),
        "started": stage.started,
        "finished": _now(),
        "files": [
            {"path": path, "size": size, "sha256": digest}
            for path, (size, digest) in sorted(_files_of(stage.folder).items())
        ],
    }
    write_json_atomic(manifest, stage.folder / name)
    return manifest


def _files_of(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``folder`` but the manifest: relative path -> (size, sha256)."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            relative = path.relative_to(folder).as_posix()
            if relative not in _MANIFESTS:
                found[relative] = _digest(path)
    return found


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def output_set_problems(folder) -> list[str]:
    """Why a folder is not one whole run, one phrase per problem (empty when it is).

    A whole run has a ``manifest.json`` of ours; every file it lists, with that size and
    sha256; and no other file.

    Parameters
    ----------
    folder : str or os.PathLike

    Returns
    -------
    list of str
    """
    folder = Path(folder)
    if not folder.is_dir():
        target = Path(os.path.realpath(folder))
        prefix = f".{target.name}.segment-previous-"
        if target.parent.is_dir() and any(
            entry.name.startswith(prefix) for entry in os.scandir(target.parent)
        ):
            return [
                f"'{folder}' is missing: a run stopped as it swapped its outputs in, and the "
                "next run into it puts the previous ones back"
            ]
        return [f"'{folder}' is not a folder"]
    path = _manifest_of(folder)
    if path is None:
        return [f"it has no {MANIFEST}"]
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        listed = {
            str(entry["path"]): (entry["size"], entry["sha256"]) for entry in manifest["files"]
        }
        manifest["run_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return [f"its {path.name} is not one written by segment"]
    problems = []
    present = {}
    for root, _, files in os.walk(folder):
        for name in files:
            relative = (Path(root) / name).relative_to(folder).as_posix()
            if relative != path.name:
                present[relative] = Path(root) / name
    for relative, (size, sha256) in listed.items():
        if relative not in present:
            problems.append(f"{relative} is missing")
        elif _digest(present[relative]) != (size, sha256):
            problems.append(f"{relative} differs from the run's (size or sha256)")
    problems.extend(
        f"{relative} is not from the run" for relative in sorted(set(present) - set(listed))
    )
    return problems


def verify_output_set(folder) -> dict:
    """Check that a folder holds one whole run and return its manifest.

    Parameters
    ----------
    folder : str or os.PathLike

    Returns
    -------
    dict
        The manifest (``run_id``, ``command``, ``parameters``, ``files`` ...).

    Raises
    ------
    SegmentationError
        Naming what is wrong (see :func:`output_set_problems`).
    """
    problems = output_set_problems(folder)
    if problems:
        shown = "; ".join(problems[:3]) + (
            f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        )
        raise SegmentationError(f"'{folder}' is not one whole run: {shown}.")
    return json.loads(_manifest_of(Path(folder)).read_text(encoding="utf-8"))


def _manifest_of(folder: Path) -> Path | None:
    """The manifest file of a folder (``manifest.json`` or ``_manifest.json``), if any."""
    for name in _MANIFESTS:
        if (folder / name).is_file():
            return folder / name
    return None


# --------------------------------------------------------------------------- the lock


class _Lock:
    """The lock file of an output (see step 1 of the module docstring)."""

    def __init__(self, path: Path, given: Path, what: str):
        self.path = path
        self.given = given
        self.what = what
        self.fd: int | None = None
        self.by_pid = False

    def acquire(self) -> None:
        me = json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": _now(),
                "process_start": _process_start(os.getpid()),
            }
        ).encode()
        for _ in range(100):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise SegmentationError(
                    f"{self.what} '{self.given}' cannot be written: its lock file goes beside "
                    f"it, in '{self.path.parent}' ({_reason(exc)}); choose another `out`."
                ) from None
            locked = _kernel_lock(fd)
            if locked is None:  # no locks on this filesystem: the PID decides
                os.close(fd)
                self._acquire_by_pid(me)
                return
            if not locked:
                os.close(fd)
                raise self._busy(_read_holder(self.path))
            if not _is_current(fd, self.path):
                os.close(fd)  # its holder removed it as we opened it: take the new one
                continue
            holder = _read_holder(self.path)
            if holder:
                logger.info("Took over the lock of a run that stopped: %s", holder)
            os.ftruncate(fd, 0)
            os.write(fd, me)
            os.fsync(fd)
            self.fd = fd
            return
        raise self._busy(_read_holder(self.path))

    def _acquire_by_pid(self, me: bytes) -> None:
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = _read_holder(self.path)
                if _holder_alive(holder, self.path):
                    raise self._busy(holder) from None
                if _read_holder(self.path) == holder:  # still the dead run's: remove it
                    _unlink(self.path)
                continue
            with os.fdopen(fd, "wb") as handle:
                handle.write(me)
                handle.flush()
                os.fsync(handle.fileno())
            self.by_pid = True
            return
        raise self._busy(_read_holder(self.path))

    def _busy(self, holder: dict | None) -> SegmentationError:
        who = "Another segment run"
        if holder:
            who += (
                f" (PID {holder.get('pid')} on {holder.get('host')}, "
                f"started {holder.get('started')})"
            )
        elsewhere = ""
        if holder and holder.get("host") != socket.gethostname():
            elsewhere = f"; if it has stopped, delete {self.path}"
        return SegmentationError(
            f"{who} is writing '{self.given}'; wait for it to finish or choose another "
            f"`out`{elsewhere}."
        )

    def release(self) -> None:
        # Removed while still locked: a run that opens it after this finds no file or a new one
        # (Windows cannot remove an open file: there it is closed first).
        if self.fd is not None:
            if os.name == "nt":
                os.close(self.fd)
            _unlink(self.path)
            if os.name != "nt":
                os.close(self.fd)
            self.fd = None
        elif self.by_pid:
            _unlink(self.path)
            self.by_pid = False


def _kernel_lock(fd: int) -> bool | None:
    """Lock an open file for this process's life: True, False (held by another process), or
    None (no locks here)."""
    try:
        import fcntl
    except ImportError:
        fcntl = None
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
        except OSError as exc:
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                return None
            raise
    try:
        import msvcrt
    except ImportError:
        return None
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    except OSError:
        return False


def _is_current(fd: int, path: Path) -> bool:
    """Whether the open file is still the one at ``path``."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def _read_holder(path: Path) -> dict | None:
    try:
        holder = json.loads(path.read_bytes() or b"null")
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _holder_alive(holder: dict | None, path: Path) -> bool:
    """Whether the run that wrote a lock file may still be running."""
    if holder is None:
        # Being written this instant, or left empty by a run killed as it wrote it.
        try:
            age = datetime.now().timestamp() - path.stat().st_mtime
        except OSError:
            return False
        return age < 10
    if holder.get("host") != socket.gethostname():
        return True  # a process on another machine cannot be checked from here
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0 or os.name != "posix":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    recorded = holder.get("process_start")
    # Same PID, later start: the number was given to a new process; the run is gone.
    return recorded is None or _process_start(pid) in (None, recorded)


def _process_start(pid: int) -> int | None:
    """When a process started, in clock ticks since boot (Linux); None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None
