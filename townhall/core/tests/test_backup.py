"""`townhall backup` / `townhall restore` round trips on the database in use (SQLite, or
PostgreSQL with DATABASE_URL): every row and every media file compare equal; a backup
taken while people write is consistent; a damaged or tampered archive is refused."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from townhall.communities.selectors import all_company
from townhall.core.backup import BackupError, create_backup, restore_backup
from townhall.posts.models import Attachment, Comment, Post
from townhall.posts.services import comment_create, post_create
from townhall.testing.factories import UserFactory
from townhall.testing.posts_factories import png_upload

pytestmark = pytest.mark.django_db(transaction=True)

_SKIP_TABLES = {"django_session"}


def _all_rows() -> dict[str, list[str]]:
    """Every row of every table, as sorted reprs (so the comparison is order-free)."""
    rows: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows[table] = sorted(repr(row) for row in cursor.fetchall())
    return rows


def _media_hashes() -> dict[str, str]:
    root = Path(settings.MEDIA_ROOT)
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _content(posts: int = 3) -> None:
    author, reader = UserFactory(), UserFactory()
    company = all_company()
    for n in range(posts):
        post = post_create(
            actor=author,
            body=f"Post {n} about #backups with **Markdown**",
            community=company,
            images=[(png_upload(f"p{n}.png", 30 + n, 20), f"picture {n}")],
        )
        comment_create(actor=reader, post=post, body=f"Reply {n}", images=[(png_upload("c.png"), "")])


def test_round_trip_restores_every_row_and_file(tmp_path, record_property):
    _content()
    rows_before, media_before = _all_rows(), _media_hashes()
    assert len(media_before) >= 6
    archive = tmp_path / "backup.tar.gz"
    result = create_backup(archive)
    manifest = result.manifest
    assert manifest["engine"] == connection.vendor
    assert manifest["media"]["files"] == len(media_before)
    assert manifest["tables"]["posts_post"] == 3

    # The world moves on: more content, a file lost.
    _content(posts=1)
    next(Path(settings.MEDIA_ROOT).rglob("*.webp")).unlink()

    with pytest.raises(BackupError, match="not empty"):
        restore_backup(archive)
    restore_backup(archive, force=True)

    rows_after, media_after = _all_rows(), _media_hashes()
    compared = 0
    for table, rows in rows_before.items():
        if table in _SKIP_TABLES:
            continue
        assert rows_after[table] == rows, f"table {table} differs after restore"
        compared += len(rows)
    assert media_after == media_before
    record_property(
        "summary", f"backup round trip ({connection.vendor}): {compared} rows and {len(media_after)} files compared"
    )


def test_restore_into_an_empty_target_through_the_commands(tmp_path):
    _content(posts=2)
    rows_before, media_before = _all_rows(), _media_hashes()
    archive = tmp_path / "cli.tar.gz"
    out = io.StringIO()
    call_command("backup", "--output", str(archive), stdout=out)
    assert "Backup written" in out.getvalue()

    # An empty target: no people, no files.
    call_command("flush", interactive=False, verbosity=0)
    for path in Path(settings.MEDIA_ROOT).rglob("*.webp"):
        path.unlink()
    out = io.StringIO()
    call_command("restore", str(archive), stdout=out)
    assert "Restored the backup" in out.getvalue()
    rows_after = _all_rows()
    for table, rows in rows_before.items():
        if table not in _SKIP_TABLES:
            assert rows_after[table] == rows, table
    assert _media_hashes() == media_before
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(archive))


def test_backup_while_people_write_is_consistent(tmp_path, record_property):
    author = UserFactory()
    company = all_company()
    stop = threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            n = 0
            while not stop.is_set():
                image = [(png_upload(f"w{n}.png"), "")] if n % 3 == 0 else []
                post = post_create(actor=author, body=f"live {n}", community=company, images=image)
                written.append(post.pk)
                n += 1
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 5:
            time.sleep(0.02)
        archives = []
        for n in range(2):
            archives.append(create_backup(tmp_path / f"live-{n}.tar.gz"))
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors
    during = [r.manifest["tables"]["posts_post"] for r in archives]
    assert 0 < during[0] <= during[1] <= len(written)

    result = archives[-1]
    restore_backup(result.path, force=True)
    snapshot_posts = result.manifest["tables"]["posts_post"]
    assert Post.objects.count() == snapshot_posts
    # The snapshot is a prefix of what was written: no post from after it, none missing before it.
    assert sorted(Post.objects.values_list("pk", flat=True)) == sorted(written[:snapshot_posts])
    for attachment in Attachment.objects.all():
        assert (Path(settings.MEDIA_ROOT) / attachment.image.name).is_file(), attachment.image.name
    record_property("summary", f"backup under writes: {len(written)} posts written, snapshots held {during}")


def _rewrite(source: Path, dest: Path, change) -> None:  # type: ignore[no-untyped-def]
    with tarfile.open(source, "r:gz") as old, tarfile.open(dest, "w:gz") as new:
        for member in old:
            data = old.extractfile(member).read()  # type: ignore[union-attr]
            member, data = change(member, data)
            if member is None:
                continue
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))


@pytest.fixture
def archive(tmp_path) -> Path:
    _content(posts=1)
    return create_backup(tmp_path / "good.tar.gz").path


def test_restore_drops_tables_the_backup_does_not_know(archive):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE extra_from_a_newer_migration (id integer)")
    restore_backup(archive, force=True)
    with connection.cursor() as cursor:
        assert "extra_from_a_newer_migration" not in connection.introspection.table_names(cursor)
    assert Comment.objects.count() == 1


def test_damaged_archive_is_refused(archive, tmp_path):
    rows_before = _all_rows()
    data = bytearray(archive.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(bytes(data))
    with pytest.raises(BackupError, match=r"damaged|failed verification|manifest"):
        restore_backup(broken, force=True)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: len(data) // 3])
    with pytest.raises(BackupError, match=r"damaged|cut short"):
        restore_backup(cut, force=True)
    not_tar = tmp_path / "notes.tar.gz"
    not_tar.write_text("hello")
    with pytest.raises(BackupError, match="damaged"):
        restore_backup(not_tar, force=True)
    assert _all_rows() == rows_before  # nothing was touched


def test_tampered_member_is_refused(archive, tmp_path):
    def swap_media(member, data):  # type: ignore[no-untyped-def]
        if member.name.startswith("media/"):
            return member, data + b"tampered"
        return member, data

    tampered = tmp_path / "tampered.tar.gz"
    _rewrite(archive, tampered, swap_media)
    with pytest.raises(BackupError, match="checksum mismatch"):
        restore_backup(tampered, force=True)

    def drop_media(member, data):  # type: ignore[no-untyped-def]
        return (None, b"") if member.name.startswith("media/") else (member, data)

    missing = tmp_path / "missing.tar.gz"
    _rewrite(archive, missing, drop_media)
    with pytest.raises(BackupError, match="missing"):
        restore_backup(missing, force=True)


def test_unsafe_member_names_are_refused(archive, tmp_path):
    def traverse(member, data):  # type: ignore[no-untyped-def]
        if member.name.startswith("media/"):
            member.name = "media/../../escape.webp"
        return member, data

    evil = tmp_path / "evil.tar.gz"
    _rewrite(archive, evil, traverse)
    with pytest.raises(BackupError, match="unsafe path"):
        restore_backup(evil, force=True)
    assert not (tmp_path / "escape.webp").exists()


def test_backup_from_another_engine_or_a_newer_townhall_is_refused(archive, tmp_path):
    def other_engine(member, data):  # type: ignore[no-untyped-def]
        if member.name == "manifest.json":
            manifest = json.loads(data)
            manifest["engine"] = "postgresql" if connection.vendor == "sqlite" else "sqlite"
            return member, json.dumps(manifest).encode()
        return member, data

    foreign = tmp_path / "foreign.tar.gz"
    _rewrite(archive, foreign, other_engine)
    with pytest.raises(BackupError, match="same kind of database"):
        restore_backup(foreign, force=True)

    def newer(member, data):  # type: ignore[no-untyped-def]
        if member.name == "manifest.json":
            manifest = json.loads(data)
            manifest["migrations"]["posts"] = "9999_from_the_future"
            return member, json.dumps(manifest).encode()
        return member, data

    future = tmp_path / "future.tar.gz"
    _rewrite(archive, future, newer)
    with pytest.raises(BackupError, match="newer Townhall"):
        restore_backup(future, force=True)
    assert Comment.objects.count() == 1
