"""A small full-text index for people, communities and topics, so that finding them
never scans the (much larger) matches among posts and comments.

SQLite: `search_fts_names`, an FTS5 table of its own (same tokenizer as search_fts)
holding only those kinds, kept by triggers. PostgreSQL: a partial GIN index on the
tsvector for those kinds.
"""

from django.db import migrations

NAME_KINDS = "('person', 'community', 'topic')"

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE search_fts_names USING fts5(
        title, body, tokenize='porter unicode61 remove_diacritics 2', prefix='2 3')""",
    f"""CREATE TRIGGER search_fts_names_ai AFTER INSERT ON search_document WHEN new.kind IN {NAME_KINDS} BEGIN
        INSERT INTO search_fts_names(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    f"""CREATE TRIGGER search_fts_names_ad AFTER DELETE ON search_document WHEN old.kind IN {NAME_KINDS} BEGIN
        DELETE FROM search_fts_names WHERE rowid = old.id;
    END""",
    f"""CREATE TRIGGER search_fts_names_au AFTER UPDATE OF title, body ON search_document
        WHEN new.kind IN {NAME_KINDS} BEGIN
        DELETE FROM search_fts_names WHERE rowid = old.id;
        INSERT INTO search_fts_names(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    f"""INSERT INTO search_fts_names(rowid, title, body)
        SELECT id, title, body FROM search_document WHERE kind IN {NAME_KINDS}""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS search_fts_names_au",
    "DROP TRIGGER IF EXISTS search_fts_names_ad",
    "DROP TRIGGER IF EXISTS search_fts_names_ai",
    "DROP TABLE IF EXISTS search_fts_names",
]
POSTGRES_FORWARD = [
    f"""CREATE INDEX search_document_names_vector ON search_document USING gin (search_vector)
        WHERE kind IN {NAME_KINDS}""",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS search_document_names_vector"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0002_fulltext")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
