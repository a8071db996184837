"""What is due, shown to whoever takes it over: the receipt and each new
owner's e-mail list the open deadlines of the transfer due in the next 14
days, overdue first and marked."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from clients.models import Deadline
from tests.factories import ClientFactory, DeadlineFactory, MatterFactory, OwnerFactory
from transfers.engine.services import records_transfer_per_client
from transfers.receipts.due_soon import deadlines_due_soon

pytestmark = pytest.mark.django_db


def day(offset: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=offset)


@pytest.fixture
def book():
    leaver = OwnerFactory(username="sam.leaver", first_name="Sam", last_name="Leaver")
    grace = OwnerFactory(username="grace.kim", first_name="Grace", last_name="Kim", email="g@x.io")
    lena = OwnerFactory(username="lena.ortiz", first_name="Lena", last_name="Ortiz")
    acme, bolt = (ClientFactory(owner=leaver, name=name) for name in ("Acme", "Bolt"))
    acme_matter = MatterFactory(client=acme, owner=leaver, title="Acme lease")
    bolt_matter = MatterFactory(client=bolt, owner=leaver, title="Bolt appeal")

    def due(matter, title, offset, **fields):
        return DeadlineFactory(
            case=None, matter=matter, owner=leaver, title=title, due_date=day(offset), **fields
        )

    deadlines = {
        "later": due(acme_matter, "File the reply", 9),
        "overdue": due(acme_matter, "Serve the defence", -2),
        "soon": due(acme_matter, "Hearing", 1),
        "far": due(acme_matter, "Limitation date", 40),
        "done": due(
            acme_matter,
            "Old filing",
            -5,
            status=Deadline.Status.DONE,
            completed_at=timezone.now(),
            completed_by_name="Sam Leaver",
        ),
        "bolt": due(bolt_matter, "Appeal brief", 3),
    }
    return leaver, grace, lena, acme, bolt, deadlines


def test_each_new_owner_gets_what_is_due_overdue_first(
    administrator, book, admin_http, django_capture_on_commit_callbacks
):
    leaver, grace, lena, acme, bolt, d = book
    with django_capture_on_commit_callbacks(execute=True):
        transfer = records_transfer_per_client(
            acting_user=administrator,
            old_user=leaver,
            assignments={acme.pk: grace, bolt.pk: lena},
        ).transfer
    assert not Deadline.objects.filter(owner=leaver).exists()  # done ones move too

    due = deadlines_due_soon(transfer=transfer)
    assert [(i.deadline.title, i.overdue) for i in due[grace.pk]] == [
        ("Serve the defence", True),
        ("Hearing", False),
        ("File the reply", False),
    ]
    assert [i.deadline.title for i in due[lena.pk]] == ["Appeal brief"]

    html = admin_http.get(reverse("transfers:transfer_detail", args=[transfer.pk])).content
    html = html.decode()
    assert "Due in the next 14 days" in html
    grace_section = html[html.index(">Grace Kim</h3>") : html.index(">Lena Ortiz</h3>")]
    assert grace_section.index("Serve the defence") < grace_section.index("Hearing")
    assert grace_section.count('class="badge badge-overdue">Overdue') == 1
    assert f'href="{d["overdue"].get_absolute_url()}"' in grace_section
    due_section = html[html.index('id="due-soon-heading"') : html.index('id="records"')]
    assert "Limitation date" not in due_section and "Old filing" not in due_section

    [message] = [m for m in mail.outbox if m.to == ["g@x.io"]]
    body = message.body
    assert "Due in the next 14 days, overdue first:" in body
    assert body.index("OVERDUE") < body.index("Serve the defence") < body.index("Hearing")
    assert "Appeal brief" not in body


def test_settings_counts_the_deadlines_nobody_will_attend_to(administrator, book, admin_http):
    """Open deadlines of the next 30 days owned by a suspended or inactive user,
    linked to the Deadlines grid showing exactly them; none once transferred."""
    from users.services import user_sign_in_suspend

    leaver, grace, lena, acme, bolt, d = book
    user_sign_in_suspend(user=leaver, acting_user=administrator)
    html = admin_http.get(reverse("users:settings")).content.decode()
    # later, soon and bolt: open and due in the next 30 days (not overdue, far or done).
    assert "3 open deadlines in the next 30 days belong to suspended or inactive users" in html
    url = reverse("clients:deadline_list") + "?owners=away&amp;status=open&amp;due=30"
    assert f'href="{url}"' in html
    grid = admin_http.get(url.replace("&amp;", "&")).content.decode()
    for key in ("later", "soon", "bolt"):
        assert f'href="{d[key].get_absolute_url()}"' in grid
    for key in ("overdue", "far", "done"):
        assert f'href="{d[key].get_absolute_url()}"' not in grid

    records_transfer_per_client(
        acting_user=administrator,
        old_user=leaver,
        assignments={acme.pk: grace, bolt.pk: lena},
        deactivate_old_user=True,
    )
    html = admin_http.get(reverse("users:settings")).content.decode()
    assert "none in the next 30 days" in html


def test_each_row_of_user_transfer_says_when_its_next_deadline_is_due(book, admin_http):
    leaver, grace, lena, acme, bolt, d = book
    html = admin_http.get(
        reverse("transfers:transfer_per_client", args=[leaver.pk])
    ).content.decode()
    assert f"next due {d['overdue'].due_date:%a %-d %b %Y}" in html  # Acme's earliest open one
    assert f"next due {d['bolt'].due_date:%a %-d %b %Y}" in html


def test_a_long_list_is_cut_per_owner_says_how_many_more_and_links_to_them_all(
    administrator,
    book,
    admin_http,
    monkeypatch,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
):
    """One new owner with many deadlines due soon neither crowds out another's
    nor hides the rest: each list stops at its limit, says how many more, and
    links to the grid with all of them."""
    from transfers.receipts import due_soon as due_soon_module
    from transfers.receipts.notifications import absolute_url

    monkeypatch.setattr(due_soon_module, "DUE_SOON_LISTED", 1)
    leaver, grace, lena, acme, bolt, d = book
    with django_capture_on_commit_callbacks(execute=True):
        transfer = records_transfer_per_client(
            acting_user=administrator,
            old_user=leaver,
            assignments={acme.pk: grace, bolt.pk: lena},
        ).transfer
    # Whatever the number moved: one query ranks them, one reads the listed ones.
    with django_assert_num_queries(2):
        due = deadlines_due_soon(transfer=transfer)
    # Grace's three are all due before Lena's one: a shared limit would list only Grace's.
    assert [i.deadline.title for i in due[grace.pk]] == ["Serve the defence"]
    assert due[grace.pk].more == 2
    assert [i.deadline.title for i in due[lena.pk]] == ["Appeal brief"]
    assert due[lena.pk].more == 0

    html = admin_http.get(reverse("transfers:transfer_detail", args=[transfer.pk])).content
    html = html.decode()
    grace_section = html[html.index(">Grace Kim</h3>") : html.index(">Lena Ortiz</h3>")]
    assert "2 more due in the next 14 days" in grace_section
    link = grace_section.split("more due in the next")[0].rsplit('href="', 1)[1].split('"')[0]
    grid = admin_http.get(link.replace("&amp;", "&")).content.decode()
    # Every open deadline Grace received, the far one included; not the done one, not Lena's.
    for key in ("overdue", "soon", "later", "far"):
        assert f'href="{d[key].get_absolute_url()}"' in grid
    for key in ("done", "bolt"):
        assert f'href="{d[key].get_absolute_url()}"' not in grid
    lena_section = html[html.index(">Lena Ortiz</h3>") : html.index('id="records"')]
    assert "more due" not in lena_section

    [message] = [m for m in mail.outbox if m.to == ["g@x.io"]]
    assert "Serve the defence" in message.body and "Hearing" not in message.body
    assert f"  and 2 more: {absolute_url(link.replace('&amp;', '&'))}\n" in message.body
