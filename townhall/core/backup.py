"""`townhall backup` and `townhall restore`: one archive holding a consistent snapshot of
the database and every stored file, with a manifest to check it against.

Archive layout (a gzip-compressed tar):

- `database.sqlite3` (SQLite: `VACUUM INTO` from a read transaction, so one consistent
  point in time while others keep writing) or `database.pgdump` (PostgreSQL: `pg_dump
  --format=custom` inside an exported REPEATABLE READ snapshot, the same snapshot the
  row counts are read from);
- `media/...`: every file under MEDIA_ROOT, copied after the database snapshot. Stored
  files are write-once under random names, so every file a snapshot row names is
  already on disk when the copy starts; files written after the snapshot come along as
  harmless orphans;
- `manifest.json` (last): format version, Townhall version, engine, latest migration per
  app, row count per table, and the size and SHA-256 of every other member.

Restore reads the whole archive into a staging directory, checks every member against
the manifest (and refuses members the manifest does not list, links, absolute or `..`
names), refuses a target that already holds people or files unless `force`, loads the
database (SQLite: the backup API into the live file; PostgreSQL: `pg_restore
--single-transaction`), checks the row counts, swaps the media directory in and runs
the migrations. Stop `townhall serve` and the workers while restoring.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # pg_dump/pg_restore with a fixed argv, never a shell  # nosec B404
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections

FORMAT = "townhall-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why, for an operator."""


@dataclass(frozen=True)
class Result:
    path: Path
    manifest: dict[str, Any]


# --- helpers ---------------------------------------------------------------------------


def _engine() -> str:
    vendor = connection.vendor
    if vendor not in {"sqlite", "postgresql"}:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {vendor}.")
    return vendor


def _version() -> str:
    try:
        return metadata.version("townhall")
    except metadata.PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _migrations() -> dict[str, str]:
    """The latest applied migration per app, as recorded in the snapshot's database."""
    from django.db.migrations.recorder import MigrationRecorder

    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).migration_qs.order_by("id").values_list("app", "name"):
        latest[app] = name
    return latest


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        names = [
            row[0]
            for row in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        ]
        # Table names come from sqlite_master and are quoted.
        return {name: db.execute(f"SELECT COUNT(*) FROM {_quote(name)}").fetchone()[0] for name in sorted(names)}  # noqa: S608 - catalogue names, quoted  # nosec B608
    finally:
        db.close()


def _pg_env() -> dict[str, str]:
    params = connection.settings_dict
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", params.get("HOST")),
        ("PGPORT", params.get("PORT")),
        ("PGUSER", params.get("USER")),
        ("PGPASSWORD", params.get("PASSWORD")),
        ("PGDATABASE", params.get("NAME")),
    ):
        if value:
            env[key] = str(value)
    sslmode = (params.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BackupError(
            f"{name} was not found on PATH. Install the PostgreSQL client tools (Debian: postgresql-client) "
            "in the same major version as the server or newer."
        )
    return path


def _run(argv: list[str], *, what: str) -> None:
    done = subprocess.run(argv, env=_pg_env(), capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv, no shell  # nosec B603
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")


def _pg_counts(cursor: Any) -> dict[str, int]:
    cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    names = sorted(row[0] for row in cursor.fetchall())
    counts = {}
    for name in names:
        cursor.execute(f"SELECT COUNT(*) FROM {_quote(name)}")  # noqa: S608 - catalogue names, quoted  # nosec B608
        counts[name] = cursor.fetchone()[0]
    return counts


def _media_files(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if path.is_file() and not path.is_symlink():
                yield path


class _HashingReader:
    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


# --- backup ----------------------------------------------------------------------------


def _snapshot_sqlite(dest: Path) -> dict[str, int]:
    source = Path(connection.settings_dict["NAME"])
    db = sqlite3.connect(source, timeout=60)
    try:
        db.execute("PRAGMA busy_timeout=60000")
        db.execute("VACUUM INTO ?", (str(dest),))
    finally:
        db.close()
    check = sqlite3.connect(dest)
    try:
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("The database snapshot failed its integrity check.")
    finally:
        check.close()
    return _sqlite_counts(dest)


def _snapshot_postgresql(dest: Path) -> dict[str, int]:
    import psycopg

    pg_dump = _pg_tool("pg_dump")
    params = connection.settings_dict
    conninfo = {
        "dbname": params["NAME"],
        "user": params.get("USER") or None,
        "password": params.get("PASSWORD") or None,
        "host": params.get("HOST") or None,
        "port": params.get("PORT") or None,
        "sslmode": (params.get("OPTIONS") or {}).get("sslmode"),
    }
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}) as pg, pg.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        row = cursor.fetchone()
        if row is None:
            raise BackupError("PostgreSQL did not export a snapshot.")
        snapshot = row[0]
        counts = _pg_counts(cursor)
        # pg_dump reads the very snapshot the counts came from (the transaction
        # exporting it must stay open until pg_dump has started its own).
        _run(
            [
                pg_dump,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={dest}",
            ],
            what="pg_dump",
        )
        cursor.execute("COMMIT")
    return counts


def create_backup(output: Path, *, progress: Callable[[str], None] | None = None) -> Result:
    """Write a backup archive to `output` (written beside it, then renamed into place,
    so a crash never leaves a half archive under the final name)."""
    say = progress or (lambda _message: None)
    engine = _engine()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    member = SQLITE_MEMBER if engine == "sqlite" else PG_MEMBER
    with tempfile.TemporaryDirectory(prefix="townhall-backup-", dir=output.parent) as work:
        db_file = Path(work) / member
        say(f"Snapshotting the {engine} database")
        counts = _snapshot_sqlite(db_file) if engine == "sqlite" else _snapshot_postgresql(db_file)
        files: dict[str, dict[str, Any]] = {member: {"sha256": _sha256(db_file), "size": db_file.stat().st_size}}
        partial = Path(work) / "archive.partial"
        media_root = Path(settings.MEDIA_ROOT)
        media_count = media_bytes = 0
        with tarfile.open(partial, "w:gz", compresslevel=1) as archive:
            archive.add(db_file, arcname=member, recursive=False)
            say("Copying media files")
            for path in _media_files(media_root):
                name = "media/" + path.relative_to(media_root).as_posix()
                try:
                    handle = path.open("rb")
                except FileNotFoundError:  # removed since the walk listed it
                    continue
                with handle:
                    info = archive.gettarinfo(fileobj=handle, arcname=name)
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    reader = _HashingReader(handle)
                    archive.addfile(info, reader)  # type: ignore[arg-type]
                files[name] = {"sha256": reader.digest.hexdigest(), "size": reader.size}
                media_count += 1
                media_bytes += reader.size
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "townhall_version": _version(),
                "created_at": datetime.now(UTC).isoformat(),
                "engine": engine,
                "database": member,
                "migrations": _migrations(),
                "tables": counts,
                "rows": sum(counts.values()),
                "media": {"files": media_count, "bytes": media_bytes},
                "files": files,
            }
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(datetime.now(UTC).timestamp())
            archive.addfile(info, _BytesReader(data))  # type: ignore[arg-type]
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, output)
    say(f"Wrote {output}: {manifest['rows']} rows in {len(counts)} tables, {media_count} media files")
    return Result(path=output, manifest=manifest)


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.offset + size
        chunk = self.data[self.offset : end]
        self.offset += len(chunk)
        return chunk


# --- restore ---------------------------------------------------------------------------


def _safe_member_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or any(part in {"", ".", ".."} for part in path.parts) or "\\" in name:
        raise BackupError(f"The archive holds an unsafe path ({name!r}); refusing it.")
    return path


def _unpack(archive_path: Path, staging: Path) -> dict[str, Any]:
    """Extract every member into `staging`, hashing as it goes; return the checked manifest."""
    seen: dict[str, dict[str, Any]] = {}
    manifest: dict[str, Any] | None = None
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            for member in archive:
                name = _safe_member_name(member.name)
                if not member.isfile():
                    raise BackupError(f"The archive holds {member.name!r}, which is not a regular file; refusing it.")
                source = archive.extractfile(member)
                if source is None:
                    raise BackupError(f"The archive member {member.name!r} cannot be read.")
                if str(name) == MANIFEST:
                    if member.size > 64 * 1024 * 1024:
                        raise BackupError("The manifest is implausibly large; refusing the archive.")
                    manifest = json.loads(source.read().decode())
                    continue
                target = staging / Path(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                size = 0
                with target.open("xb") as out:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                seen[str(name)] = {"sha256": digest.hexdigest(), "size": size}
    except BackupError:
        raise
    except FileExistsError as exc:
        raise BackupError(f"The archive lists a file twice ({exc.filename}); refusing it.") from exc
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(f"The archive is damaged or not a Townhall backup ({exc}).") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"The archive's manifest cannot be read ({exc}).") from exc
    if manifest is None or manifest.get("format") != FORMAT:
        raise BackupError("The archive has no Townhall manifest; it is not a Townhall backup, or it was cut short.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"Backup format version {manifest.get('format_version')} is not supported here.")
    expected: dict[str, dict[str, Any]] = manifest.get("files") or {}
    missing = sorted(set(expected) - set(seen))
    extra = sorted(set(seen) - set(expected))
    bad = sorted(name for name in set(seen) & set(expected) if seen[name] != expected[name])
    if missing or extra or bad:
        details = "; ".join(
            part
            for part in (
                f"missing: {', '.join(missing[:5])}" if missing else "",
                f"not in the manifest: {', '.join(extra[:5])}" if extra else "",
                f"checksum mismatch: {', '.join(bad[:5])}" if bad else "",
            )
            if part
        )
        raise BackupError(f"The archive failed verification ({details}). Nothing was restored.")
    return manifest


def target_is_empty() -> tuple[bool, str]:
    """Whether restoring here can lose nothing: no people in the database, no stored files."""
    table = get_user_model()._meta.db_table
    with connection.cursor() as cursor:
        if table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608 - quoted model table  # nosec B608
            people = cursor.fetchone()[0]
            if people:
                return False, f"the database holds {people} people"
    media_root = Path(settings.MEDIA_ROOT)
    if next(_media_files(media_root), None) is not None:
        return False, f"{media_root} holds files"
    return True, ""


def _check_migrations(manifest: dict[str, Any]) -> None:
    from django.db.migrations.loader import MigrationLoader

    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    unknown = sorted(
        f"{app}.{name}" for app, name in manifest.get("migrations", {}).items() if (app, name) not in known
    )
    if unknown:
        raise BackupError(
            "The backup comes from a newer Townhall (unknown migrations: "
            + ", ".join(unknown[:5])
            + "). Upgrade Townhall first, then restore."
        )


def _restore_sqlite(snapshot: Path) -> None:
    target = Path(connection.settings_dict["NAME"])
    connections.close_all()
    source = sqlite3.connect(snapshot)
    dest = sqlite3.connect(target, timeout=60)
    try:
        # The backup API copies every page into the live file under its write lock,
        # WAL included: readers see the old database or the new one, never a mix.
        source.backup(dest)
    finally:
        dest.close()
        source.close()


def _restore_postgresql(dump: Path, tables: dict[str, int]) -> None:
    pg_restore = _pg_tool("pg_restore")
    # Tables the backup does not know (made by a newer migration here) would survive
    # `--clean` and then clash with `migrate`: they go first (the target is being
    # replaced anyway; this only runs on an empty target or with --force).
    with connection.cursor() as cursor:
        extra = sorted(set(connection.introspection.table_names(cursor)) - set(tables))
        for name in extra:
            cursor.execute(f"DROP TABLE IF EXISTS {_quote(name)} CASCADE")
    connections.close_all()
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={connection.settings_dict['NAME']}",
            str(dump),
        ],
        what="pg_restore",
    )


def _live_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            return _pg_counts(cursor)
        cursor.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        names = sorted(row[0] for row in cursor.fetchall())
        counts = {}
        for name in names:
            cursor.execute(f"SELECT COUNT(*) FROM {_quote(name)}")  # noqa: S608 - catalogue names, quoted  # nosec B608
            counts[name] = cursor.fetchone()[0]
        return counts


def _swap_media(staged: Path) -> None:
    root = Path(settings.MEDIA_ROOT)
    root.parent.mkdir(parents=True, exist_ok=True)
    old = root.with_name(root.name + ".before-restore")
    if old.exists():
        shutil.rmtree(old)
    if root.exists():
        os.replace(root, old)
    if staged.exists():
        shutil.move(str(staged), str(root))
    else:
        root.mkdir(parents=True)
    if old.exists():
        shutil.rmtree(old)


def restore_backup(
    archive_path: Path, *, force: bool = False, migrate: bool = True, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Restore `archive_path` into the configured database and MEDIA_ROOT. Returns the
    manifest. Raises BackupError (and changes nothing) when the archive fails
    verification or the target is not empty without `force`."""
    say = progress or (lambda _message: None)
    engine = _engine()
    archive_path = Path(archive_path)
    if not archive_path.is_file():
        raise BackupError(f"{archive_path} does not exist.")
    media_root = Path(settings.MEDIA_ROOT)
    media_root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".townhall-restore-", dir=media_root.parent) as work:
        staging = Path(work)
        say(f"Verifying {archive_path}")
        manifest = _unpack(archive_path, staging)
        if manifest.get("engine") != engine:
            raise BackupError(
                f"This is a {manifest.get('engine')} backup and the target database is {engine}; "
                "restore into the same kind of database."
            )
        _check_migrations(manifest)
        empty, why = target_is_empty()
        if not empty and not force:
            raise BackupError(f"The target is not empty ({why}). Restore with --force to replace it.")
        say("Loading the database")
        snapshot = staging / manifest["database"]
        if engine == "sqlite":
            _restore_sqlite(snapshot)
        else:
            _restore_postgresql(snapshot, manifest["tables"])
        counts = _live_counts()
        wrong = sorted(t for t, n in manifest["tables"].items() if counts.get(t) != n)
        if wrong:
            raise BackupError(f"Row counts differ after loading the database ({', '.join(wrong[:5])}).")
        say("Restoring media files")
        _swap_media(staging / "media")
    if migrate:
        from django.core.management import call_command

        say("Migrating")
        call_command("migrate", interactive=False, verbosity=0)
    say(f"Restored {manifest['rows']} rows and {manifest['media']['files']} media files")
    return manifest
