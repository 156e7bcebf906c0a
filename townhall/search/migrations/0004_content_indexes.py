"""Indexes for searching one content kind at a time (backends/postgres.py).

PostgreSQL: the GIN index on every document's tsvector becomes partial indexes per
kind: comments, other content (posts and later kinds); people, communities and topics
already have theirs (0003). The name and handle indexes become partial (only those
kinds have a name or a handle): PostgreSQL used the (kind, name) index to pick out one
content kind, reading all its ids into a bitmap (32 ms for the posts at 1M).
"""

from django.db import migrations, models

CONTENT = "kind NOT IN ('person', 'community', 'topic', 'comment')"
POSTGRES_FORWARD = [
    f"CREATE INDEX IF NOT EXISTS search_document_content_vector ON search_document USING gin (search_vector) WHERE {CONTENT}",
    "CREATE INDEX IF NOT EXISTS search_document_comment_vector ON search_document USING gin (search_vector) WHERE kind = 'comment'",
    "DROP INDEX IF EXISTS search_document_vector",
]
POSTGRES_BACKWARD = [
    "CREATE INDEX IF NOT EXISTS search_document_vector ON search_document USING gin (search_vector)",
    "DROP INDEX IF EXISTS search_document_comment_vector",
    "DROP INDEX IF EXISTS search_document_content_vector",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0003_names_fulltext'),
    ]

    operations = [
        migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD)),
        migrations.RemoveIndex(
            model_name='document',
            name='search_doc_handle',
        ),
        migrations.RemoveIndex(
            model_name='document',
            name='search_doc_name',
        ),
        migrations.AddIndex(
            model_name='document',
            index=models.Index(condition=models.Q(('kind__in', ('person', 'community', 'topic'))), fields=['kind', 'handle'], name='search_doc_handle'),
        ),
        migrations.AddIndex(
            model_name='document',
            index=models.Index(condition=models.Q(('kind__in', ('person', 'community', 'topic'))), fields=['kind', 'name'], name='search_doc_name'),
        ),
    ]
