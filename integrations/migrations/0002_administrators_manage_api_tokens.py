from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = ["add_apitoken", "change_apitoken", "view_apitoken"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("integrations")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    administrators = Group.objects.filter(name="Administrators").first()
    if administrators is None:
        return
    administrators.permissions.add(
        *Permission.objects.filter(content_type__app_label="integrations", codename__in=PERMISSIONS)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Administrators"):
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="integrations", codename__in=PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_api_tokens_and_scim_identities"),
        ("users", "0002_default_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
