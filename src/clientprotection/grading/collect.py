"""``cpcourse collect``: submissions from an LMS zip, a folder, or the nbgrader exchange.

Each file is matched to a roster student (id, LMS id, email or name; or the user's regular
expression with a named group ``student``) and copied to ``submitted/<id>/<assignment>/`` with
nbgrader's ``timestamp.txt``. Existing submissions are never overwritten without ``force``, and
with ``force`` the old folder is first copied to ``collect-backups/<time>/``.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from clientprotection.errors import CourseError
from clientprotection.grading.workshop import RosterEntry, is_safe_id, load_roster

MOODLE = re.compile(
    r"^(?P<name>[^/]+?)_(?P<lms>\d+)_assign(?:submission|feedback)_(?:file|onlinetext)_/?"
    r"(?P<file>.+)$"
)
CANVAS = re.compile(
    r"^(?P<name>[^/_]+?)(?P<late>_LATE)?_(?P<lms>\d+)_(?P<sub>\d+)_(?P<file>[^/]+)$"
)
FOLDER_FILE = re.compile(r"^(?P<student>[^/]+)\.ipynb$")
FOLDER_DIR = re.compile(r"^(?P<student>[^/]+)/(?P<file>.+)$")
SKIP = re.compile(r"(^|/)(__MACOSX|\.ipynb_checkpoints|\.DS_Store|Thumbs\.db)(/|$)")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"


@dataclass
class Entry:
    """One submitted file in the source: where it is, whose it is, when it was sent."""

    path: str
    read: Callable[[], bytes]
    modified: datetime
    key: str = ""
    key_kind: str = ""
    file: str = ""
    late: bool = False
    order: int = 0


@dataclass
class CollectReport:
    """What ``collect`` did, for the instructor."""

    collected: dict[str, list[str]] = field(default_factory=dict)
    renamed: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    skipped_existing: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as printable lines."""
        out = [f"collected {len(self.collected)} submission(s)"]
        for title, items in (
            ("renamed notebooks", self.renamed),
            ("files not matched to a student (use --pattern)", self.unmatched),
            ("students not in the roster (not collected)", self.unknown),
            ("existing submissions kept (use --force to replace)", self.skipped_existing),
            ("replaced submissions (old copy kept)", self.replaced),
            ("duplicate files (newest kept, others in collect-backups)", self.duplicates),
            ("late according to the LMS", self.late),
        ):
            if items:
                out.append(f"{title}:")
                out.extend(f"  {item}" for item in items)
        return out


def normalise(text: str) -> str:
    """Lower-case letters and digits only, accents removed.

    Examples
    --------
    >>> normalise("Koné, Amina-Marie")
    'koneaminamarie'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", plain.lower())


class RosterMatcher:
    """Find the roster student behind an id, LMS id, email or name."""

    def __init__(self, roster: list[RosterEntry]) -> None:
        self.ids = {e.id: e.id for e in roster}
        self.lms = {e.lms_id: e.id for e in roster if e.lms_id}
        self.emails = {e.email.lower(): e.id for e in roster if e.email}
        names: dict[str, set[str]] = {}
        for e in roster:
            for variant in (e.first_name + e.last_name, e.last_name + e.first_name):
                if normalise(variant):
                    names.setdefault(normalise(variant), set()).add(e.id)
        self.names = names

    def match(self, key: str, kind: str = "", lms_id: str = "") -> str | None:
        """The roster id for ``key`` or ``None``."""
        if lms_id and lms_id in self.lms:
            return self.lms[lms_id]
        if key in self.ids:
            return key
        if key.lower() in self.emails:
            return self.emails[key.lower()]
        if key.lower().split("@")[0] in self.ids:
            return key.lower().split("@")[0] if "@" in key else None
        found = self.names.get(normalise(key), set())
        return next(iter(found)) if len(found) == 1 else None


def _zip_entries(path: Path) -> list[Entry]:
    entries = []
    with zipfile.ZipFile(path) as archive:
        for order, info in enumerate(archive.infolist()):
            if info.is_dir() or SKIP.search(info.filename):
                continue
            name = info.filename

            def read(name: str = name) -> bytes:
                with zipfile.ZipFile(path) as again:
                    return again.read(name)

            modified = datetime(*info.date_time).astimezone(UTC)
            entries.append(Entry(name, read, modified, order=order))
    return entries


def _folder_entries(folder: Path) -> list[Entry]:
    entries = []
    for order, file in enumerate(sorted(p for p in folder.rglob("*") if p.is_file())):
        relative = file.relative_to(folder).as_posix()
        if SKIP.search(relative) or file.is_symlink():
            continue
        modified = datetime.fromtimestamp(file.stat().st_mtime, UTC)
        entries.append(Entry(relative, file.read_bytes, modified, order=order))
    return entries


def _classify(entry: Entry, pattern: re.Pattern[str] | None) -> tuple[str, str]:
    """Set the entry's key and file name; return the LMS id ('' if none) and the style."""
    if pattern is not None:
        match = pattern.search(entry.path)
        if match:
            entry.key = match.group("student")
            entry.file = PurePosixPath(entry.path).name
            return "", "pattern"
    moodle = MOODLE.match(entry.path)
    if moodle:
        entry.key, entry.file = moodle["name"], moodle["file"]
        return moodle["lms"], "moodle"
    canvas = CANVAS.match(entry.path)
    if canvas:
        entry.key, entry.file, entry.late = canvas["name"], canvas["file"], bool(canvas["late"])
        entry.file = re.sub(r"-\d+(\.ipynb)$", r"\1", entry.file)  # Canvas renames resubmissions
        return canvas["lms"], "canvas"
    flat = FOLDER_FILE.match(entry.path)
    if flat:
        entry.key, entry.file = flat["student"], ""
        return "", "folder"
    nested = FOLDER_DIR.match(entry.path)
    if nested:
        entry.key, entry.file = nested["student"], nested["file"]
        return "", "folder"
    return "", ""


def collect(
    workshop: Path,
    assignment: str,
    origin: str,
    *,
    pattern: str | None = None,
    force: bool = False,
) -> CollectReport:
    """Collect the submissions of ``assignment`` from ``origin`` into ``submitted/``.

    Parameters
    ----------
    origin
        An LMS zip (Moodle or Canvas download), a folder (``<id>.ipynb`` or ``<id>/...``, or an
        unpacked LMS download), or ``exchange`` for nbgrader's exchange.
    pattern
        Regular expression with a named group ``student`` applied to each file's path inside
        ``origin``; the group is matched to a roster id, email, LMS id or name.
    force
        Replace existing submissions (the old folder is copied to ``collect-backups/``).

    Examples
    --------
    >>> collect(Path("."), "m02-over-indebtedness", "moodle-download.zip")  # doctest: +SKIP
    """
    if not is_safe_id(assignment):
        raise CourseError(f"assignment {assignment!r} is not a safe folder name")
    source = workshop / "source" / assignment
    if not source.is_dir():
        raise CourseError(f"no source assignment {assignment!r} in {workshop / 'source'}")
    expected = sorted(p.name for p in source.glob("*.ipynb"))
    regex = None
    if pattern:
        try:
            regex = re.compile(pattern)
        except re.error as error:
            raise CourseError(
                f"--pattern {pattern!r} is not a valid regular expression: {error}"
            ) from None
        if "student" not in regex.groupindex:
            raise CourseError("--pattern needs a named group 'student', e.g. '(?P<student>\\w+)'")
    matcher = RosterMatcher(load_roster(workshop))
    origin_path = Path(origin)
    temporary: Path | None = None
    try:
        if origin == "exchange" and not origin_path.exists() or origin == "exchange:":
            temporary = Path(tempfile.mkdtemp(prefix="cpcourse-exchange-"))
            entries = _exchange_entries(workshop, assignment, temporary)
        elif origin_path.is_file() and zipfile.is_zipfile(origin_path):
            entries = _zip_entries(origin_path)
        elif origin_path.is_dir():
            entries = _folder_entries(origin_path)
        else:
            raise CourseError(
                f"{origin} is neither a zip file, a folder, nor 'exchange'; give the LMS "
                "download, a folder of notebooks, or the word exchange"
            )
        return _store(workshop, assignment, entries, matcher, regex, expected, force)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def _exchange_entries(workshop: Path, assignment: str, temporary: Path) -> list[Entry]:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from clientprotection.grading.settings import load_config

    config = load_config(workshop)
    config.CourseDirectory.root = str(temporary)
    config.CourseDirectory.db_url = f"sqlite:///{workshop / 'gradebook.db'}"  # the roster
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    result = api.collect(assignment, update=True)
    if not result or not result.get("success"):
        log = (result or {}).get("error") or (result or {}).get("log") or ""
        raise CourseError(f"nbgrader collect failed: {log.strip().splitlines()[-1:] or 'no log'}")
    entries = []
    for folder in sorted((temporary / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        stamp_file = folder / "timestamp.txt"
        modified = datetime.now(UTC)
        if stamp_file.is_file():
            from nbgrader.utils import parse_utc

            modified = parse_utc(stamp_file.read_text().strip())
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            if file.name == "timestamp.txt":
                continue
            relative = file.relative_to(folder).as_posix()
            entry = Entry(f"{student}/{relative}", file.read_bytes, modified)
            entries.append(entry)
    return entries


def _store(
    workshop: Path,
    assignment: str,
    entries: list[Entry],
    matcher: RosterMatcher,
    regex: re.Pattern[str] | None,
    expected: list[str],
    force: bool,
) -> CollectReport:
    report = CollectReport()
    by_student: dict[str, list[Entry]] = {}
    for entry in entries:
        lms_id, style = _classify(entry, regex)
        if not style:
            report.unmatched.append(entry.path)
            continue
        student = matcher.match(entry.key, style, lms_id)
        if student is None:
            if style == "folder" and is_safe_id(entry.key) or style == "pattern":
                report.unknown.append(f"{entry.key} ({entry.path})")
            else:
                report.unmatched.append(f"{entry.path} (no roster match for {entry.key!r})")
            continue
        by_student.setdefault(student, []).append(entry)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    backups = workshop / "collect-backups" / stamp
    manifest_path = workshop / "reports" / assignment / "collected.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    for student, files in sorted(by_student.items()):
        target = workshop / "submitted" / student / assignment
        if target.exists() and any(target.iterdir()):
            if not force:
                report.skipped_existing.append(f"{student} ({target})")
                continue
            shutil.copytree(target, backups / "replaced" / student / assignment, symlinks=True)
            shutil.rmtree(target)
            report.replaced.append(f"{student} (old copy in {backups / 'replaced' / student})")
        chosen = _choose_files(student, files, expected, report, backups)
        target.mkdir(parents=True, exist_ok=True)
        for name, entry in chosen.items():
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(entry.read())
        submitted_at = max(e.modified for e in chosen.values())
        (target / "timestamp.txt").write_text(submitted_at.strftime(TIME_FORMAT))
        late = any(e.late for e in files)
        if late:
            report.late.append(student)
        manifest[student] = {"late": late, "timestamp": submitted_at.isoformat()}
        report.collected[student] = sorted(chosen)
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return report


def _choose_files(
    student: str,
    files: list[Entry],
    expected: list[str],
    report: CollectReport,
    backups: Path,
) -> dict[str, Entry]:
    """Name each file in the submission; keep the newest of duplicates, rename a lone notebook."""
    named: dict[str, list[Entry]] = {}
    for entry in files:
        name = entry.file or (expected[0] if len(expected) == 1 else f"{entry.key}.ipynb")
        named.setdefault(name, []).append(entry)
    notebooks = [n for n in named if n.endswith(".ipynb")]
    if len(expected) == 1 and expected[0] not in named and len(notebooks) == 1:
        named[expected[0]] = named.pop(notebooks[0])
        if notebooks[0] != expected[0]:
            report.renamed.append(f"{student}: {notebooks[0]} -> {expected[0]}")
    chosen = {}
    for name, candidates in named.items():
        candidates.sort(key=lambda e: (e.modified, e.order))
        chosen[name] = candidates[-1]
        for older in candidates[:-1]:
            keep = backups / "duplicates" / student / f"{len(report.duplicates)}-{Path(name).name}"
            keep.parent.mkdir(parents=True, exist_ok=True)
            keep.write_bytes(older.read())
            report.duplicates.append(f"{student}: {older.path} (kept {candidates[-1].path})")
    return chosen
