"""PostgreSQL: the vocabulary of the full-text index (backends/postgres.py, `expand`).

`search_lexeme` holds every lexeme any document's tsvector has held, kept by two
statement triggers on search_document (inserted rows; updated rows whose vector
changed). A prefix (`'report':*`) read through a GIN index merges the posting lists of
every lexeme it starts and cannot skip: two common words cost 40-60 ms at 1M posts
however few posts hold both. Looked up here first, the prefix becomes the few lexemes
it stands for (`'report' | 'reporter'`), which the GIN index intersects skipping
through the longer lists (~5 ms). Lexemes of deleted documents stay (they match
nothing). New lexemes are inserted in sorted order, so two writers never wait on each
other in opposite orders.
"""

from django.db import migrations

NOTE = """
    INSERT INTO search_lexeme (lexeme)
    SELECT DISTINCT lexeme FROM {source}, unnest(tsvector_to_array(new_documents.search_vector)) AS lexeme
    {where} ORDER BY lexeme
    ON CONFLICT DO NOTHING
"""
POSTGRES_FORWARD = [
    'CREATE TABLE IF NOT EXISTS search_lexeme (lexeme text COLLATE "C" PRIMARY KEY)',
    f"""CREATE OR REPLACE FUNCTION search_note_inserted_lexemes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {NOTE.format(source="new_documents", where="")};
        RETURN NULL;
    END $$""",
    f"""CREATE OR REPLACE FUNCTION search_note_updated_lexemes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {NOTE.format(
            source="new_documents JOIN old_documents ON old_documents.id = new_documents.id",
            where="WHERE new_documents.search_vector IS DISTINCT FROM old_documents.search_vector",
        )};
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS search_document_lexemes_inserted ON search_document",
    """CREATE TRIGGER search_document_lexemes_inserted AFTER INSERT ON search_document
        REFERENCING NEW TABLE AS new_documents
        FOR EACH STATEMENT EXECUTE FUNCTION search_note_inserted_lexemes()""",
    "DROP TRIGGER IF EXISTS search_document_lexemes_updated ON search_document",
    """CREATE TRIGGER search_document_lexemes_updated AFTER UPDATE ON search_document
        REFERENCING OLD TABLE AS old_documents NEW TABLE AS new_documents
        FOR EACH STATEMENT EXECUTE FUNCTION search_note_updated_lexemes()""",
    NOTE.format(source="search_document AS new_documents", where=""),
    "ANALYZE search_lexeme",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS search_document_lexemes_updated ON search_document",
    "DROP TRIGGER IF EXISTS search_document_lexemes_inserted ON search_document",
    "DROP FUNCTION IF EXISTS search_note_updated_lexemes()",
    "DROP FUNCTION IF EXISTS search_note_inserted_lexemes()",
    "DROP TABLE IF EXISTS search_lexeme",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0005_fts_statistics")]

    operations = [migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD))]
