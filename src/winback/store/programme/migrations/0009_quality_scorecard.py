from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("programme", "0008_task_callback"),
    ]

    operations = [
        migrations.AddField(
            model_name="programmesettings",
            name="quality_scorecard",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="contactreview",
            name="scores",
            field=models.JSONField(blank=True, default=dict, verbose_name="scores"),
        ),
    ]
