"""SQLite: statistics that keep FTS5's segment deletes on the rowid range.

A database analyzed while its search index was nearly empty (the dataset generator, the
demo loader) has sqlite_stat1 rows saying each `<fts table>_data` table holds two rows;
the planner then removes every merged segment by scanning the whole table (3 s every
16th post on the 1M-post dataset). This replaces them with a large estimate, as
backends.sqlite.set_fts_statistics does after every reindex and bulk load.
"""

from django.db import migrations

TABLES = ("search_fts_data", "search_fts_names_data", "search_names_data")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return
        for table in TABLES:
            cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = %s", [table])
            cursor.execute("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (%s, NULL, '1000000')", [table])


class Migration(migrations.Migration):
    dependencies = [("search", "0004_content_indexes")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
