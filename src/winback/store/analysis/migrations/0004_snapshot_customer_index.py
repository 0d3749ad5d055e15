"""Snapshots lose their index on the customer alone (decision 0056).

The unique (customer_id, as_of) index starts with the customer, so it serves every lookup by
customer (a customer's history, the foreign key's cascade) that the single-column index
served, while the single-column index cost every analysis a million index entries to write
and, on a re-analysis, to delete. It is dropped in place on both databases (an ``AlterField``
would rebuild the whole table on SQLite) and recreated on reverse.
"""

import django.db.models.deletion
from django.db import migrations, models


def _customer_indexes(schema_editor, table):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return [
        name
        for name, info in found.items()
        if info["index"]
        and not info["unique"]
        and not info["primary_key"]
        and list(info["columns"]) == ["customer_id"]
    ]


def drop_index(apps, schema_editor):
    table = apps.get_model("analysis", "CustomerSnapshot")._meta.db_table
    for name in _customer_indexes(schema_editor, table):
        schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def create_index(apps, schema_editor):
    model = apps.get_model("analysis", "CustomerSnapshot")
    if not _customer_indexes(schema_editor, model._meta.db_table):
        field = model._meta.get_field("customer")
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):
    dependencies = [
        ("analysis", "0003_snapshot_churn_probability"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="customersnapshot",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="snapshots",
                        to="customers.customer",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_index, create_index, elidable=False),
            ],
        ),
    ]
