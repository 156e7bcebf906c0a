"""The writer that tests/flows/test_crash_safety.py kills: posts, comments and edits go
through `townhall.posts.services` (no HTTP in between), and each id is printed only
after its transaction has committed ("acknowledged").

Django is set up once, in this "zygote" process, which then forks one short-lived
writer per command (the way gunicorn's --preload forks workers): a fork costs a few
milliseconds where a fresh interpreter plus Django costs a second or more, so many
SIGKILL cycles fit in a CI run. The zygote never holds a database connection while it
forks; each writer opens its own. Commands, one a line on stdin:

    fork SEED   -> "PID <pid>"; the writer then prints "P <id>", "C <id>", "E <id>"
                   (post, comment, edit acknowledged) until it is killed
    wait PID    -> "DEAD <pid> <status>" once that writer has exited
    check       -> "RESULT <json>": integrity, stored ids, counters (see check)
    token       -> "TOKEN <secret>": an API token (read, write) for the writer
    session     -> "SESSION <cookie name> <key>": a signed-in session for the writer
    quit

tests/flows/test_faults.py uses it too, for set-up and the same checks.

Environment: DATABASE_URL and TOWNHALL_VAR_DIR as for `townhall`.
"""

from __future__ import annotations

import json
import os
import random
import sys

TOPICS = 5


def say(line: str) -> None:
    # One write(2) per line: lines from the zygote and every writer share the pipe and
    # stay whole (each is far below PIPE_BUF).
    os.write(1, (line + "\n").encode())


def setup() -> tuple[object, object]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "townhall.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from townhall.accounts.models import User
    from townhall.communities.selectors import all_company
    from townhall.testing.factories import UserFactory

    call_command("migrate", verbosity=0)
    writer = User.objects.filter(email="writer@example.com").first() or UserFactory(email="writer@example.com")
    if not User.objects.filter(email="reader@example.com").exists():
        UserFactory(email="reader@example.com")
    company = all_company()
    connections.close_all()
    return writer, company


def write(writer: object, company: object, seed: int) -> None:
    """Post, comment and edit until killed. Every body mentions @reader and carries a
    #topic, so the mentions, topic links and counters written in the same transaction
    can be checked afterwards."""
    from townhall.posts.services import comment_create, post_create, post_edit

    rng = random.Random(seed)
    parent = os.getppid()
    n = 0
    while os.getppid() == parent:  # an orphan (the zygote died) stops by itself
        n += 1
        topic = f"crash{rng.randrange(TOPICS)}"
        post = post_create(actor=writer, community=company, body=f"crash {seed}-{n} @reader #{topic}")  # type: ignore[arg-type]
        say(f"P {post.pk}")
        if rng.random() < 0.5:
            comment = comment_create(actor=writer, post=post, body=f"reply {seed}-{n} @reader")  # type: ignore[arg-type]
            say(f"C {comment.pk}")
        if rng.random() < 0.3:
            post_edit(actor=writer, post=post, body=f"crash {seed}-{n} (edited) @reader #{topic}")  # type: ignore[arg-type]
            say(f"E {post.pk}")


def check() -> dict[str, object]:
    """Read straight from the database: engine integrity, ids, and that every write's
    parts are all there together (mentions, topics, revisions, counters)."""
    from django.db import connection
    from django.db.models import Count, Q

    from townhall.accounts.models import User
    from townhall.posts.models import Comment, Mention, Post, PostRevision, Topic

    out: dict[str, object] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA integrity_check")
            out["integrity"] = cursor.fetchone()[0]
            cursor.execute("PRAGMA foreign_key_check")
            out["fk_violations"] = len(cursor.fetchall())
        else:
            # amcheck verifies every B-tree index against its table's heap.
            cursor.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
            cursor.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE a.amname = 'btree' AND n.nspname = 'public' AND i.indisvalid"
            )
            indexes = [row[0] for row in cursor.fetchall()]
            for name in indexes:
                cursor.execute("SELECT bt_index_check(%s::regclass, true)", [name])
            out["integrity"] = "ok"
            out["indexes_checked"] = len(indexes)
            out["fk_violations"] = 0  # enforced by PostgreSQL at commit
    reader = User.objects.get(email="reader@example.com")
    posts = set(Post.objects.values_list("pk", flat=True))
    comments = set(Comment.objects.values_list("pk", flat=True))
    revised = set(PostRevision.objects.values_list("post_id", flat=True))
    edited = set(Post.objects.filter(edited_at__isnull=False).values_list("pk", flat=True))
    post_mentions = set(Mention.objects.filter(user=reader, comment__isnull=True).values_list("post_id", flat=True))
    comment_mentions = set(Mention.objects.filter(user=reader).values_list("comment_id", flat=True))
    tagged = set(Post.topics.through.objects.values_list("post_id", flat=True))
    out["bad_comment_counts"] = [
        p.pk
        for p in Post.objects.annotate(live=Count("comments", filter=Q(comments__deleted_at__isnull=True)))
        if p.live != p.comment_count
    ]
    out["bad_topic_counts"] = [
        t.name
        for t in Topic.objects.annotate(live=Count("posts", filter=Q(posts__deleted_at__isnull=True)))
        if t.live != t.post_count
    ]
    out["posts_without_mention"] = sorted(posts - post_mentions)
    out["comments_without_mention"] = sorted(comments - comment_mentions)
    out["posts_without_topic"] = sorted(posts - tagged)
    out["edited_without_revision"] = sorted(edited - revised)
    out["revision_without_edit"] = sorted(revised - edited)
    out.update(posts=sorted(posts), comments=sorted(comments), edited=sorted(edited))
    return out


def main() -> None:
    writer, company = setup()
    from django.db import connections

    say("READY")
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "fork":
            pid = os.fork()
            if pid == 0:  # the writer
                try:
                    write(writer, company, int(arg))
                except BaseException as error:  # reported to the test, which fails on it
                    say(f"X {type(error).__name__}: {error}".replace("\n", " "))
                finally:
                    os._exit(1)
            say(f"PID {pid}")
        elif command == "wait":
            _, status = os.waitpid(int(arg), 0)
            say(f"DEAD {arg} {status}")
        elif command == "check":
            say("RESULT " + json.dumps(check()))
        elif command == "token":
            from townhall.accounts.services import token_create

            _, secret = token_create(actor=writer, name="crash", scopes=["read", "write"])  # type: ignore[arg-type]
            say(f"TOKEN {secret}")
        elif command == "session":
            from django.conf import settings
            from django.test import Client

            client = Client()
            client.force_login(writer)  # type: ignore[arg-type]
            say(f"SESSION {settings.SESSION_COOKIE_NAME} {client.cookies[settings.SESSION_COOKIE_NAME].value}")
        elif command == "quit":
            return
        connections.close_all()  # never hold a connection across a fork


if __name__ == "__main__":
    main()
