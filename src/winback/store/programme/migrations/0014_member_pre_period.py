"""The members' pre-period spend and purchase days, stored at planning; existing rounds are
filled here, one set-based statement per round."""

from datetime import timedelta

from django.db import migrations, models

# winback.programme.inference.PRE_PERIOD_DAYS when this migration was written
PRE_PERIOD_DAYS = 90


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    Round = apps.get_model("programme", "Round")
    RoundMember = apps.get_model("programme", "RoundMember")
    Order = apps.get_model("customers", "Order")
    member, order = RoundMember._meta.db_table, Order._meta.db_table
    sql = (
        f"UPDATE {member} SET pre_spend_cents = p.spend, pre_visits = p.visits "
        "FROM (SELECT m.customer_id AS customer_id, "
        "COALESCE(SUM(o.amount_cents), 0) AS spend, "
        "COUNT(DISTINCT CASE WHEN o.amount_cents > 0 THEN o.order_date END) AS visits "
        f"FROM {member} m LEFT JOIN {order} o ON o.customer_id = m.customer_id "
        "AND o.order_date >= %s AND o.order_date <= %s "
        "WHERE m.round_id = %s AND m.pre_spend_cents IS NULL GROUP BY m.customer_id) p "
        f"WHERE {member}.round_id = %s AND {member}.customer_id = p.customer_id"
    )
    db = schema_editor.connection.alias
    with schema_editor.connection.cursor() as cursor:
        for pk, start in Round.objects.using(db).values_list("pk", "round_start"):
            first = start - timedelta(days=PRE_PERIOD_DAYS)
            cursor.execute(sql, [first, start - timedelta(days=1), pk, pk])


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_consent_dates"),
        ("programme", "0012_programme_questionnaires"),
    ]

    operations = [
        migrations.AddField(
            model_name="roundmember",
            name="pre_spend_cents",
            field=models.BigIntegerField(
                blank=True, null=True, verbose_name="spend before the round"
            ),
        ),
        migrations.AddField(
            model_name="roundmember",
            name="pre_visits",
            field=models.PositiveIntegerField(
                blank=True, null=True, verbose_name="purchase days before the round"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
