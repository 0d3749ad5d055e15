from django.db import migrations, models


def earlier_expiries(apps, schema_editor):
    """Tasks expired before the cause was recorded expired because their round closed."""
    CallTask = apps.get_model("programme", "CallTask")
    CallTask.objects.filter(status="expired", expiry_cause="").update(expiry_cause="round_closed")


class Migration(migrations.Migration):
    dependencies = [
        ("programme", "0009_quality_scorecard"),
    ]

    operations = [
        migrations.AddField(
            model_name="calltask",
            name="expiry_cause",
            field=models.CharField(
                blank=True,
                choices=[
                    ("round_closed", "Round closed"),
                    ("closed_by_supervisor", "Round closed early by a supervisor"),
                    ("agent_deactivated", "Agent deactivated"),
                ],
                max_length=32,
                verbose_name="expiry cause",
            ),
        ),
        migrations.RunPython(earlier_expiries, migrations.RunPython.noop),
    ]
