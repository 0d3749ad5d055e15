"""Imports write faster (decision 0045).

The references of the four fact tables (orders, order lines, events, contacts) are no longer
checked row by row by the database (PostgreSQL's per-row trigger was most of an import's write
time): the importer checks them per chunk, set-based, and rejects rows naming unknown parents
with their row numbers. Indexes that repeat the prefix of another index, and PostgreSQL's
``varchar_pattern_ops`` copies of unique natural keys (no query uses a LIKE prefix on them;
``icontains`` cannot use them), are dropped.
"""

import django.db.models.deletion
from django.db import migrations, models

# (model, field) whose PostgreSQL "_like" index duplicates the unique index of the same column.
LIKE_INDEXES = (
    ("order", "order_key"),
    ("engagementevent", "source_key"),
    ("contactlog", "source_key"),
    ("customer", "external_id"),
    ("product", "sku"),
    ("category", "code"),
    ("store", "code"),
)


def _like_indexes(apps, schema_editor):
    for model_name, field_name in LIKE_INDEXES:
        model = apps.get_model("customers", model_name)
        yield model, model._meta.get_field(field_name)


def drop_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, field in _like_indexes(apps, schema_editor):
        name = schema_editor._create_index_name(model._meta.db_table, [field.column], "_like")
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_like_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, field in _like_indexes(apps, schema_editor):
        sql = schema_editor._create_like_index_sql(model, field)
        if sql is not None:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0004_event_type_definitions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='contactlog',
            name='customer',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='contacts', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='engagementevent',
            name='customer',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='engagementevent',
            name='referred_customer',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='referred_by', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='order',
            name='customer',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='orders', to='customers.customer'),
        ),
        migrations.AlterField(
            model_name='order',
            name='store',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to='customers.store'),
        ),
        migrations.AlterField(
            model_name='orderline',
            name='category',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to='customers.category'),
        ),
        migrations.AlterField(
            model_name='orderline',
            name='order',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='customers.order'),
        ),
        migrations.AlterField(
            model_name='orderline',
            name='product',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to='customers.product'),
        ),
        migrations.RunPython(drop_like_indexes, create_like_indexes, elidable=False),
    ]
