"""The demo's people and where they work: ticketboxes, agents, teams and their access,
agent preferences and signatures (part of ``manage.py seed_demo``, see tickets/demo.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from tickets import demo_data as data
from tickets import services
from tickets.agents import AgentProfile, Signature
from tickets.models import Ticketbox, TicketboxAccess, TicketboxAddress

ADMIN_USERNAME = "admin"
# (username, first name, last name, administrator)
AGENTS = (
    (ADMIN_USERNAME, "Morgan", "Lee", True),
    ("alice", "Alice", "Martin", False),
    ("bob", "Bob", "Schneider", False),
    ("carol", "Carol", "Whitfield", False),
)
WORKERS = ("alice", "bob", "carol")  # the agents who answer customers
SUPERVISOR = "carol"
TEAMS = {"Support team": ("alice", "bob", "carol"), "Sales team": ("bob", "carol")}
_R, _W, _M = TicketboxAccess.Level.READ, TicketboxAccess.Level.REPLY, TicketboxAccess.Level.MANAGE
# (ticketbox, group or agent, level); Everyone's reply right on Unassigned comes with mailflow.
ACCESS = (
    ("Support", "Support team", _W),
    ("Sales", "Sales team", _W),
    ("Billing", "Support team", _R),
    ("Billing", "Sales team", _R),
    ("Billing", "alice", _W),
    *((box, SUPERVISOR, _M) for box in ("Sales", "Support", "Billing", "Unassigned")),
)
PROFILES: dict[str, dict[str, Any]] = {
    ADMIN_USERNAME: {"rows_per_page": 100, "shortcuts": ("Unassigned",)},
    "alice": {
        "theme": AgentProfile.Theme.DARK,
        "rows_per_page": 25,
        "notify_new_tickets": True,
        "shortcuts": ("Support", "Billing"),
    },
    "bob": {
        "theme": AgentProfile.Theme.LIGHT,
        "quote_replies": False,
        "notify_new_tickets": True,
        "notify_by_email": True,
        "shortcuts": ("Sales", "Support"),
    },
    "carol": {
        "notify_new_tickets": True,
        "notify_by_email": True,
        "shortcuts": ("Sales", "Support", "Billing", "Unassigned"),
        "shortcut_agents": ("alice", "bob"),
    },
}
# username -> (name, body, default); a signature named after a ticketbox is used there.
SIGNATURES = {
    ADMIN_USERNAME: (("Default", "Morgan Lee\nTrailhead Outfitters", True),),
    "alice": (
        ("Support", "Alice Martin\nCustomer Support - Trailhead Outfitters", True),
        ("Billing", "Alice Martin\nBilling - Trailhead Outfitters\n+44 20 7946 0188", False),
    ),
    "bob": (
        ("Sales", "Bob Schneider\nSales & Club Accounts - Trailhead Outfitters\n"
         "+44 20 7946 0321", True),
        ("Short", "Bob\nTrailhead Outfitters", False),
    ),
    "carol": (
        ("Default", "Carol Whitfield\nCustomer Service Lead - Trailhead Outfitters", True),
        ("Formal", "Carol Whitfield\nCustomer Service Lead\nTrailhead Outfitters Ltd\n"
         "+44 20 7946 0654 - https://demo.example", False),
    ),
}  # fmt: skip


def create_ticketboxes() -> dict[str, Ticketbox]:
    """The demo ticketboxes with their inbound addresses, and the built-in Unassigned."""
    boxes = {"Unassigned": services.unassigned_ticketbox()}
    for name, spec in data.TICKETBOXES.items():
        fields = {key: value for key, value in spec.items() if key != "addresses"}
        box = Ticketbox(name=name, **fields)
        box.full_clean()
        box.save()
        TicketboxAddress.objects.bulk_create(
            TicketboxAddress(ticketbox=box, address=address) for address in spec["addresses"]
        )
        boxes[name] = box
    return boxes


def create_agents(password: str, now: datetime) -> dict[str, Any]:
    """The agents; the post_save signal gives each a profile and membership of Everyone."""
    user_model = get_user_model()
    agents = {}
    for username, first, last, is_admin in AGENTS:
        make = user_model.objects.create_superuser if is_admin else user_model.objects.create_user
        agents[username] = make(
            username=username,
            email=f"{username}@{data.DOMAIN}",
            password=None,
            first_name=first,
            last_name=last,
            date_joined=now - timedelta(days=data.HISTORY_DAYS + 30),
        )
    # Everyone shares the admin's password; hashing it once saves a second per agent.
    hashed = make_password(password)
    user_model.objects.filter(pk__in=[a.pk for a in agents.values()]).update(password=hashed)
    return agents


def grant_access(boxes: dict[str, Ticketbox], agents: dict[str, Any]) -> dict[str, list[Any]]:
    """Teams and ticketbox rights; returns who may reply in each ticketbox."""
    groups = {}
    for name, members in TEAMS.items():
        groups[name], _ = Group.objects.get_or_create(name=name)
        groups[name].user_set.add(*(agents[m] for m in members))
    # The supervisor sees reports (and the overview) through a group, as a real desk would.
    supervisors, _ = Group.objects.get_or_create(name="Supervisors")
    supervisors.permissions.add(Permission.objects.get(codename="view_reports"))
    supervisors.user_set.add(agents[SUPERVISOR])
    TicketboxAccess.objects.bulk_create(
        TicketboxAccess(
            ticketbox=boxes[box],
            group=groups.get(who),
            agent=None if who in groups else agents[who],
            level=level,
        )
        for box, who, level in ACCESS
    )
    repliers: dict[str, list[Any]] = {name: [] for name in boxes}
    for username in WORKERS:
        agent = agents[username]
        names = (
            TicketboxAccess.objects.filter(level__gte=_W)
            .filter(Q(agent=agent) | Q(group__in=agent.groups.all()))
            .values_list("ticketbox__name", flat=True)
            .distinct()
        )
        for name in names:
            repliers[name].append(agent)
    return repliers


def set_up_agents(
    boxes: dict[str, Ticketbox], agents: dict[str, Any]
) -> tuple[dict[int, AgentProfile], dict[int, dict[str, str]]]:
    """Preferences on the profiles the signal made, and signatures.

    Returns the profiles and the signature bodies by agent pk; each agent's signatures are
    keyed by name, and their default one also under ``""``.
    """
    profiles = {}
    for username, prefs in PROFILES.items():
        agent = agents[username]
        profile = AgentProfile.objects.get(agent=agent)
        for name, value in prefs.items():
            if name not in ("shortcuts", "shortcut_agents"):
                setattr(profile, name, value)
        profile.save()
        profile.shortcut_ticketboxes.set([boxes[b] for b in prefs.get("shortcuts", ())])
        profile.shortcut_agents.set([agents[a] for a in prefs.get("shortcut_agents", ())])
        profiles[agent.pk] = profile
    signatures: dict[int, dict[str, str]] = {}
    rows = []
    for username, entries in SIGNATURES.items():
        agent = agents[username]
        signatures[agent.pk] = {}
        for name, body, is_default in entries:
            rows.append(Signature(agent=agent, name=name, body=body, is_default=is_default))
            signatures[agent.pk][name] = body
            if is_default:
                signatures[agent.pk][""] = body
    Signature.objects.bulk_create(rows)
    return profiles, signatures
