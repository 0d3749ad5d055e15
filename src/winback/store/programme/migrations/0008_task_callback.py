from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("programme", "0007_attempt_offer_cost"),
    ]

    operations = [
        migrations.AddField(
            model_name="calltask",
            name="callback_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="call back at"),
        ),
        migrations.AddField(
            model_name="contactattempt",
            name="callback_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="call back at"),
        ),
        migrations.AddField(
            model_name="contactattempt",
            name="answers",
            field=models.JSONField(blank=True, default=dict, verbose_name="questionnaire answers"),
        ),
    ]
