from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("programme", "0006_member_targeting"),
    ]

    operations = [
        migrations.AddField(
            model_name="contactattempt",
            name="offer_cost",
            field=models.FloatField(blank=True, null=True, verbose_name="offer cost"),
        ),
    ]
