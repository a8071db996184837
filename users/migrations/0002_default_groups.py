from django.contrib.auth.management import create_permissions
from django.db import migrations

RECORD_MODELS = ["client", "matter", "case"]
SHARE_MODELS = [
    f"{record}{kind}objectpermission" for record in RECORD_MODELS for kind in ("user", "group")
]

GROUP_PERMISSIONS = {
    "Administrators": [
        ("users", f"{action}_user") for action in ("add", "change", "view", "delete")
    ]
    + [("users", "transfer_records"), ("auth", "view_group"), ("transfers", "view_transfer")]
    + [
        ("clients", f"{action}_{model}")
        for model in RECORD_MODELS + SHARE_MODELS
        for action in ("add", "change", "view", "delete")
    ],
    "Managers": [("clients", f"view_{model}") for model in RECORD_MODELS],
    "Attorneys": [("users", "own_records")],
    "Paralegals": [("users", "own_records")],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations ran; create them
    # now so the groups can be given theirs.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, permissions in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for app_label, codename in permissions:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUP_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0001_initial"),
        ("clients", "0002_initial"),
        ("transfers", "0002_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
