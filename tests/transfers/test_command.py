"""manage.py transfer_user: the same services from the command line."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from clients.models import Case, Client, Matter
from tests.factories import OwnerFactory
from tests.helpers import snapshot
from transfers.models import Transfer

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("transfer_user", *args, stdout=out)
    return out.getvalue()


def fails(*args, match: str) -> None:
    before = snapshot()
    with pytest.raises(CommandError, match=match):
        run(*args)
    assert snapshot() == before


def write_plan(tmp_path, text: str):
    path = tmp_path / "plan.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_transfer_all(mixed_firm, administrator):
    output = run("old.owner", "--to", "new.owner", "--by", administrator.username, "--deactivate")
    transfer = Transfer.objects.get()
    assert f"Transfer #{transfer.pk}" in output
    assert "to Nora New (new.owner): 1 clients, 2 matters, 3 cases, 3 shares" in output
    assert f"Receipt: transfer #{transfer.pk}" in output
    assert "old.owner was deactivated." in output
    mixed_firm.old.refresh_from_db()
    assert not mixed_firm.old.is_active
    assert not Case.objects.filter(owner=mixed_firm.old).exists()


def test_dry_run_prints_what_would_move_and_changes_nothing(mixed_firm, administrator, tmp_path):
    before = snapshot()
    output = run("old.owner", "--to", "new.owner", "--by", administrator.username, "--dry-run")
    assert snapshot() == before
    assert output.startswith("Dry run: nothing was changed.")
    assert "to Nora New (new.owner): 1 clients, 2 matters, 3 cases, 3 shares" in output
    assert "Receipt" not in output

    plan = write_plan(
        tmp_path,
        f"{mixed_firm.own_client.number},new.owner\n{mixed_firm.others_client.number},other.owner\n",
    )
    output = run("old.owner", "--plan", plan, "--by", administrator.username, "--dry-run")
    assert snapshot() == before
    assert "to Nora New (new.owner): 1 clients, 1 matters, 2 cases, 1 shares" in output
    assert f"    clients: {mixed_firm.own_client.number}" in output
    assert "to Otto Other (other.owner): 0 clients, 1 matters, 1 cases, 1 shares" in output


def test_a_deactivating_plan_says_which_shares_it_revokes(mixed_firm, administrator, tmp_path):
    plan = write_plan(
        tmp_path,
        f"{mixed_firm.own_client.number},new.owner\n{mixed_firm.others_client.number},other.owner\n",
    )
    args = ("old.owner", "--plan", plan, "--by", administrator.username, "--deactivate")
    before = snapshot()
    output = run(*args, "--dry-run")
    assert snapshot() == before
    assert "old.owner would be deactivated.\n1 share on other clients would be revoked." in output
    output = run(*args)
    assert "old.owner was deactivated.\n1 share on other clients was revoked." in output
    assert Transfer.objects.get().revoked_share_count == 1


def test_plan_with_header(mixed_firm, administrator, tmp_path):
    plan = write_plan(
        tmp_path,
        "client number,username\n"
        f"{mixed_firm.own_client.number}, new.owner\n\n"
        f"{mixed_firm.others_client.number},other.owner\n",
    )
    output = run("old.owner", "--plan", plan, "--by", administrator.username)
    transfer = Transfer.objects.get()
    assert transfer.mode == Transfer.Mode.PER_CLIENT
    assert f"Receipt: transfer #{transfer.pk}" in output
    assert Client.objects.get(pk=mixed_firm.own_client.pk).owner == mixed_firm.new
    assert Matter.objects.get(pk=mixed_firm.own_matter_in_others.pk).owner == mixed_firm.other


def test_bad_input(mixed_firm, administrator, tmp_path):
    by = ("--by", administrator.username)
    fails("nobody", "--to", "new.owner", *by, match="Unknown old user")
    fails("old.owner", "--to", "nobody", *by, match="Unknown new user")
    fails("old.owner", "--to", "new.owner", "--by", "nobody", match="Unknown actor")
    fails("old.owner", "--to", "old.owner", *by, match=r"Refused \(same_user\)")
    fails("old.owner", "--to", "new.owner", "--by", "other.owner", match="permission_denied")
    OwnerFactory(username="gone", is_active=False)
    fails("old.owner", "--to", "gone", *by, match="new_user_inactive")
    fails("old.owner", "--plan", str(tmp_path / "missing.csv"), *by, match="Cannot read")
    fails(
        "old.owner",
        "--plan",
        write_plan(tmp_path, "C-NOPE,new.owner\n"),
        *by,
        match="Unknown client numbers in the plan: C-NOPE",
    )
    fails(
        "old.owner",
        "--plan",
        write_plan(tmp_path, f"{mixed_firm.own_client.number},nobody\n"),
        *by,
        match="Unknown usernames in the plan: nobody",
    )
    fails(
        "old.owner",
        "--plan",
        write_plan(tmp_path, f"{mixed_firm.own_client.number},new.owner,extra\n"),
        *by,
        match="line 1: expected two columns",
    )
    fails("old.owner", "--plan", write_plan(tmp_path, ""), *by, match="assigns no clients")
    fails(
        "old.owner",
        "--plan",
        write_plan(
            tmp_path,
            f"{mixed_firm.own_client.number},new.owner\n{mixed_firm.own_client.number},other.owner\n",
        ),
        *by,
        match="assigned twice",
    )
    fails(
        "old.owner",
        "--plan",
        write_plan(tmp_path, f"{mixed_firm.own_client.number},new.owner\n"),
        *by,
        match=rf"client_unassigned.*Clients: {mixed_firm.others_client.number}",
    )
    fails(
        "old.owner",
        "--plan",
        write_plan(
            tmp_path,
            f"{mixed_firm.own_client.number},new.owner\n{mixed_firm.others_client.number},new.owner\n"
            f"{mixed_firm.unlinked_client.number},new.owner\n",
        ),
        *by,
        match="client_not_linked",
    )
    plan = tmp_path / "latin1.csv"
    plan.write_bytes("Café,new.owner\n".encode("latin-1"))
    fails("old.owner", "--plan", str(plan), *by, match="not UTF-8")


def test_to_and_plan_are_exclusive_and_by_is_required(mixed_firm, administrator, tmp_path):
    with pytest.raises(CommandError):
        run("old.owner", "--to", "new.owner")
    with pytest.raises(CommandError):
        run("old.owner", "--by", administrator.username)
    with pytest.raises(CommandError):
        run(
            "old.owner",
            "--to",
            "new.owner",
            "--plan",
            write_plan(tmp_path, "x,y\n"),
            "--by",
            administrator.username,
        )
