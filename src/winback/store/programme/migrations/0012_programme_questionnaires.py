from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("programme", "0011_care_task"),
    ]

    operations = [
        migrations.AddField(
            model_name="programmesettings",
            name="questionnaires",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
