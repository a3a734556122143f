"""The built-ins every help desk starts with: groups Everyone and Administrators,
the Unassigned ticketbox (open to Everyone), and the ticket number counter."""

from django.conf import settings
from django.db import migrations

EVERYONE = "Everyone"
ADMINISTRATORS = "Administrators"


def create_builtins(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Ticketbox = apps.get_model("tickets", "Ticketbox")
    TicketboxAccess = apps.get_model("tickets", "TicketboxAccess")
    Counter = apps.get_model("tickets", "Counter")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))

    everyone, _ = Group.objects.get_or_create(name=EVERYONE)
    administrators, _ = Group.objects.get_or_create(name=ADMINISTRATORS)
    unassigned, _ = Ticketbox.objects.get_or_create(
        system_key="unassigned",
        defaults={
            "name": "Unassigned",
            "description": "Messages no routing rule filed elsewhere wait here for an agent.",
        },
    )
    TicketboxAccess.objects.get_or_create(
        ticketbox=unassigned, group=everyone, defaults={"level": 2}
    )
    Counter.objects.get_or_create(
        name="ticket_number",
        defaults={"value": settings.MAILFLOW["TICKET_NUMBER_START"] - 1},
    )
    # Users made before mailflow was installed are agents too.
    for user in User.objects.all():
        user.groups.add(everyone)
        if user.is_superuser:
            user.groups.add(administrators)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_builtins, migrations.RunPython.noop)]
