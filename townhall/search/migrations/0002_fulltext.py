"""The full-text index beside search_document, per database.

SQLite: two FTS5 tables with external content (the document table), kept by triggers:
`search_fts` (title, body, tags; porter stemming, accent-free, prefix indexes) and
`search_names` (the folded names of people, communities and topics, trigram
tokenizer: partial words and typo tolerance).

PostgreSQL: a generated tsvector column (title weight A, body B, topic slugs C, all
unaccented) with a GIN index, and a trigram GIN index on names (pg_trgm).
"""

from django.db import migrations

NAME_KINDS = "('person', 'community', 'topic')"

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        title, body, tags, content='search_document', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2', prefix='2 3')""",
    """CREATE VIRTUAL TABLE search_names USING fts5(
        name, content='search_document', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER search_document_ai AFTER INSERT ON search_document BEGIN
        INSERT INTO search_fts(rowid, title, body, tags) VALUES (new.id, new.title, new.body, new.tags);
    END""",
    """CREATE TRIGGER search_document_ad AFTER DELETE ON search_document BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, body, tags) VALUES ('delete', old.id, old.title, old.body, old.tags);
    END""",
    """CREATE TRIGGER search_document_au AFTER UPDATE OF title, body, tags ON search_document BEGIN
        INSERT INTO search_fts(search_fts, rowid, title, body, tags) VALUES ('delete', old.id, old.title, old.body, old.tags);
        INSERT INTO search_fts(rowid, title, body, tags) VALUES (new.id, new.title, new.body, new.tags);
    END""",
    """CREATE TRIGGER search_names_ai AFTER INSERT ON search_document BEGIN
        INSERT INTO search_names(rowid, name) VALUES (new.id, new.name);
    END""",
    """CREATE TRIGGER search_names_ad AFTER DELETE ON search_document BEGIN
        INSERT INTO search_names(search_names, rowid, name) VALUES ('delete', old.id, old.name);
    END""",
    """CREATE TRIGGER search_names_au AFTER UPDATE OF name ON search_document BEGIN
        INSERT INTO search_names(search_names, rowid, name) VALUES ('delete', old.id, old.name);
        INSERT INTO search_names(rowid, name) VALUES (new.id, new.name);
    END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS search_names_au",
    "DROP TRIGGER IF EXISTS search_names_ad",
    "DROP TRIGGER IF EXISTS search_names_ai",
    "DROP TRIGGER IF EXISTS search_document_au",
    "DROP TRIGGER IF EXISTS search_document_ad",
    "DROP TRIGGER IF EXISTS search_document_ai",
    "DROP TABLE IF EXISTS search_names",
    "DROP TABLE IF EXISTS search_fts",
]

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # unaccent() is only STABLE; a generated column needs an IMMUTABLE function, and the
    # dictionary is named explicitly so the result cannot depend on search_path.
    """CREATE OR REPLACE FUNCTION search_fold(text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$""",
    """ALTER TABLE search_document ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, search_fold(coalesce(title, ''))), 'A')
        || setweight(to_tsvector('english'::regconfig, search_fold(coalesce(body, ''))), 'B')
        || setweight(to_tsvector('simple'::regconfig, coalesce(tags, '')), 'C')
    ) STORED""",
    "CREATE INDEX search_document_vector ON search_document USING gin (search_vector)",
    f"""CREATE INDEX search_document_name_trgm ON search_document USING gin (name gin_trgm_ops)
        WHERE kind IN {NAME_KINDS}""",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS search_document_name_trgm",
    "DROP INDEX IF EXISTS search_document_vector",
    "ALTER TABLE search_document DROP COLUMN IF EXISTS search_vector",
    "DROP FUNCTION IF EXISTS search_fold(text)",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
