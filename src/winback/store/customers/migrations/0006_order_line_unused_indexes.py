"""Order lines lose their indexes on product and category (decision 0054).

No query looks order lines up by product or category (reports join from the line to its
category, by the category's primary key), and keeping the two low-cardinality indexes up to
date cost an import of a million lines more than writing the lines themselves. The indexes are
dropped in place on both databases (an ``AlterField`` would rebuild the whole table on SQLite)
and recreated on reverse.
"""

import django.db.models.deletion
from django.db import migrations, models

FIELDS = ("product", "category")


def _single_column_indexes(schema_editor, table, column):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return [
        name
        for name, info in found.items()
        if info["index"]
        and not info["unique"]
        and not info["primary_key"]
        and list(info["columns"]) == [column]
    ]


def drop_indexes(apps, schema_editor):
    model = apps.get_model("customers", "OrderLine")
    for name in FIELDS:
        column = model._meta.get_field(name).column
        for index in _single_column_indexes(schema_editor, model._meta.db_table, column):
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(index)}")


def create_indexes(apps, schema_editor):
    model = apps.get_model("customers", "OrderLine")
    for name in FIELDS:
        field = model._meta.get_field(name)
        if not _single_column_indexes(schema_editor, model._meta.db_table, field.column):
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


def _without_index(name):
    """The state of the line's reference ``name`` once its index is gone."""
    return migrations.AlterField(
        model_name="orderline",
        name=name,
        field=models.ForeignKey(
            blank=True,
            db_constraint=False,
            db_index=False,
            null=True,
            on_delete=django.db.models.deletion.SET_NULL,
            to=f"customers.{name}",
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_import_references_and_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[_without_index("category"), _without_index("product")],
            database_operations=[
                migrations.RunPython(drop_indexes, create_indexes, elidable=False),
            ],
        ),
    ]
