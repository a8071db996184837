import datetime

import factory
from django.contrib.auth.models import Group, Permission

from clients.models import (
    Case,
    CaseUserObjectPermission,
    Client,
    ClientUserObjectPermission,
    Deadline,
    Matter,
    MatterUserObjectPermission,
)
from users import groups as group_names
from users.models import User

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create:
            self.save()
        if create and extracted:
            for name in extracted:
                self.groups.add(Group.objects.get(name=name) if isinstance(name, str) else name)


class OwnerFactory(UserFactory):
    """A user allowed to own records: an attorney unless other groups are given."""

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if not create:
            return
        self.save()
        names = extracted or [group_names.ATTORNEYS]
        self.groups.add(*[Group.objects.get(name=name) for name in names])


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    number = factory.Sequence(lambda n: f"C-T{n:06d}")
    name = factory.Faker("company")
    kind = Client.Kind.ORGANISATION
    owner = factory.SubFactory(OwnerFactory)


class MatterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Matter

    client = factory.SubFactory(ClientFactory)
    number = factory.Sequence(lambda n: f"M-T{n:07d}")
    title = factory.Faker("catch_phrase")
    owner = factory.LazyAttribute(lambda m: m.client.owner)


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    matter = factory.SubFactory(MatterFactory)
    client = factory.LazyAttribute(lambda c: c.matter.client)
    number = factory.Sequence(lambda n: f"K-T{n:08d}")
    caption = factory.Faker("sentence", nb_words=5)
    court = "High Court"
    owner = factory.LazyAttribute(lambda c: c.matter.owner)


class DeadlineFactory(factory.django.DjangoModelFactory):
    """An open deadline under a matter (and, unless case=None, one of its cases)."""

    class Meta:
        model = Deadline

    case = factory.SubFactory(CaseFactory)
    matter = factory.LazyAttribute(lambda d: d.case.matter)
    client = factory.LazyAttribute(lambda d: d.matter.client)
    title = factory.Faker("sentence", nb_words=4)
    due_date = factory.LazyFunction(lambda: datetime.date.today() + datetime.timedelta(days=10))
    kind = Deadline.Kind.COURT_DEADLINE
    owner = factory.LazyAttribute(lambda d: d.matter.owner)


class ClientShareFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClientUserObjectPermission

    content_object = factory.SubFactory(ClientFactory)
    user = factory.SubFactory(UserFactory)
    permission = factory.LazyFunction(
        lambda: Permission.objects.get_by_natural_key("view_client", "clients", "client")
    )


class MatterShareFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MatterUserObjectPermission

    content_object = factory.SubFactory(MatterFactory)
    user = factory.SubFactory(UserFactory)
    permission = factory.LazyFunction(
        lambda: Permission.objects.get_by_natural_key("view_matter", "clients", "matter")
    )


class CaseShareFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseUserObjectPermission

    content_object = factory.SubFactory(CaseFactory)
    user = factory.SubFactory(UserFactory)
    permission = factory.LazyFunction(
        lambda: Permission.objects.get_by_natural_key("view_case", "clients", "case")
    )
