"""The search box: ticket numbers, subjects, mail bodies, notes and contacts, always within
the agent's rights. Runs on SQLite (substring fallback) and PostgreSQL (full text)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from contacts.services import find_or_create_contact
from tests.factories import make_agent, make_ticket, make_ticketbox
from tests.mail import customer_mail, route_mail
from tickets import services
from tickets.agents import AgentProfile
from tickets.models import Message, Note, Ticket, TicketboxAccess, TicketboxAddress
from tickets.search import MAX_RESULTS, search_tickets

pytestmark = pytest.mark.django_db

READ = TicketboxAccess.Level.READ


def numbers(response: Any) -> list[int]:
    """Ticket numbers in the order the results page lists them."""
    assert response.status_code == 200
    return [
        int(n)
        for n in re.findall(
            r'<tr class="priority-\d status-\w+" data-row>\s*<td>(?:<a [^>]*>)?(\d+)',
            response.content.decode(),
        )
    ]


def search(client: Any, text: str, **params: Any) -> Any:
    return client.get(reverse("desk:search"), {"q": text, **params})


@pytest.fixture
def box() -> Any:
    return make_ticketbox("Support")


@pytest.fixture
def agent(box: Any) -> Any:
    agent = make_agent("searcher")
    TicketboxAccess.objects.create(ticketbox=box, agent=agent, level=READ)
    return agent


@pytest.fixture
def agent_client(client: Any, agent: Any) -> Any:
    client.force_login(agent)
    return client


def test_ticket_number_comes_first_with_or_without_hash(agent_client: Any, box: Any) -> None:
    wanted = make_ticket("Printer jam", ticketbox=box)
    mentions = make_ticket(f"About ticket {wanted.number} again", ticketbox=box)
    for text in (str(wanted.number), f"#{wanted.number}", f" # {wanted.number} "):
        found = numbers(search(agent_client, text))
        assert found[0] == wanted.number, text
    assert numbers(search(agent_client, str(wanted.number))) == [wanted.number, mentions.number]


def test_subject_words_find_the_ticket_and_all_words_must_match(
    agent_client: Any, box: Any
) -> None:
    blue = make_ticket("Refund for the blue teapot", ticketbox=box)
    red = make_ticket("Refund for the red kettle", ticketbox=box)
    make_ticket("Login trouble", ticketbox=box)
    assert numbers(search(agent_client, "refund")) == [red.number, blue.number]
    assert numbers(search(agent_client, "REFUND teapot")) == [blue.number]
    assert numbers(search(agent_client, "refund -kettle")) == [blue.number]
    assert numbers(search(agent_client, "teapot kettle")) == []


def test_words_in_a_mail_body_find_its_ticket_with_a_snippet(agent_client: Any) -> None:
    route_mail(
        customer_mail(
            subject="Help",
            message_id="<body-1@example.net>",
            body="Hello,\r\nthe flux capacitor on my unit makes a clicking noise.\r\nCarla",
        )
    )
    route_mail(customer_mail(subject="Other", message_id="<body-2@example.net>", body="Nothing."))
    response = search(agent_client, "capacitor")
    ticket = Ticket.objects.get(subject="Help")
    assert numbers(response) == [ticket.number]
    page = response.content.decode()
    assert 'data-found-in="message"' in page
    assert "flux <mark>capacitor</mark> on my unit" in page


def test_a_reply_body_finds_the_ticket_once(agent_client: Any, box: Any) -> None:
    ticket = make_ticket("Question", ticketbox=box)
    for text in ("first zebra", "second zebra", "third"):
        Message.objects.create(ticket=ticket, direction="out", date=ticket.created_at, text=text)
    assert numbers(search(agent_client, "zebra")) == [ticket.number]


def test_snippets_escape_customer_html(agent_client: Any, box: Any) -> None:
    ticket = make_ticket("Hostile", ticketbox=box)
    Message.objects.create(
        ticket=ticket,
        direction="in",
        date=ticket.created_at,
        text='<script>alert("x")</script> walrus <img src=x onerror=alert(1)>',
    )
    page = search(agent_client, "walrus").content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page and "<mark>walrus</mark>" in page


def test_shared_notes_match_for_everyone_private_notes_only_for_author_and_admins(
    client: Any, agent: Any, box: Any, admin_user: Any
) -> None:
    author = make_agent("author")
    TicketboxAccess.objects.create(ticketbox=box, agent=author, level=READ)
    shared = make_ticket("Shared note ticket", ticketbox=box)
    private = make_ticket("Private note ticket", ticketbox=box)
    Note.objects.create(ticket=shared, author=author, body="Customer prefers the gazebo.")
    Note.objects.create(
        ticket=private, author=author, body="Suspect the gazebo story.", private=True
    )

    client.force_login(agent)
    assert numbers(search(client, "gazebo")) == [shared.number]
    client.force_login(author)
    found = search(client, "gazebo")
    assert numbers(found) == [private.number, shared.number]
    assert "Suspect the <mark>gazebo</mark> story." in found.content.decode()
    client.force_login(admin_user)
    assert numbers(search(client, "gazebo")) == [private.number, shared.number]


def test_contact_name_and_address_find_their_tickets(agent_client: Any, box: Any) -> None:
    carla = find_or_create_contact("Carla.Customer@Example.net", name="Carla Mendoza")
    other = find_or_create_contact("bob@example.org", name="Bob Stone")
    first = make_ticket("One", ticketbox=box, contact=carla)
    second = make_ticket("Two", ticketbox=box, contact=carla)
    make_ticket("Three", ticketbox=box, contact=other)
    assert numbers(search(agent_client, "mendoza")) == [second.number, first.number]
    response = search(agent_client, "carla.customer@example.NET")
    assert numbers(response) == [second.number, first.number]
    assert "Carla.Customer@Example.net" in response.content.decode()
    if connection.vendor == "postgresql":  # by the domain alone: its own word there
        assert numbers(search(agent_client, "example.net")) == [second.number, first.number]


def test_tickets_outside_the_agents_rights_never_appear(
    agent_client: Any, box: Any, admin_user: Any, client: Any
) -> None:
    secret_box = make_ticketbox("Legal")
    TicketboxAddress.objects.create(ticketbox=secret_box, address="legal@example.com")
    visible = make_ticket("Lawsuit about the sprocket", ticketbox=box)
    hidden = make_ticket("Lawsuit about the sprocket", ticketbox=secret_box)
    route_mail(
        customer_mail(
            to="legal@example.com", subject="Confidential", body="sprocket lawsuit details"
        )
    )
    routed_hidden = Ticket.objects.get(subject="Confidential")
    assert routed_hidden.ticketbox == secret_box
    Note.objects.create(ticket=hidden, body="sprocket", author=None)
    trashed = make_ticket("Sprocket in the trash", ticketbox=box)
    services.move_to_trash(trashed)
    contact = find_or_create_contact("sprocket@example.net", name="Sprocket Inc")
    make_ticket("Contact only", ticketbox=secret_box, contact=contact)

    for text in ("sprocket", "lawsuit sprocket", "sprocket@example.net", str(hidden.number)):
        found = numbers(search(agent_client, text))
        assert hidden.number not in found and routed_hidden.number not in found, text
        assert trashed.number not in found, text
    assert numbers(search(agent_client, "sprocket")) == [visible.number]
    assert numbers(search(agent_client, f"#{hidden.number}")) == []

    client.force_login(admin_user)
    assert set(numbers(search(client, "sprocket"))) >= {
        visible.number,
        hidden.number,
        routed_hidden.number,
    }


def test_group_rights_count_and_removing_them_hides_the_tickets(client: Any, box: Any) -> None:
    from django.contrib.auth.models import Group

    team = Group.objects.create(name="Team")
    member = make_agent("member")
    member.groups.add(team)
    access = TicketboxAccess.objects.create(ticketbox=box, group=team, level=READ)
    ticket = make_ticket("Quasar alignment", ticketbox=box)
    client.force_login(member)
    assert numbers(search(client, "quasar")) == [ticket.number]
    access.delete()
    assert numbers(search(client, "quasar")) == []


def test_results_are_newest_first_and_paginated_by_rows_per_page(
    agent_client: Any, agent: Any, box: Any
) -> None:
    AgentProfile.objects.update_or_create(agent=agent, defaults={"rows_per_page": 10})
    tickets = [make_ticket(f"Gizmo report {n}", ticketbox=box) for n in range(12)]
    newest_first = [t.number for t in reversed(tickets)]
    first = search(agent_client, "gizmo")
    assert numbers(first) == newest_first[:10]
    assert "12 tickets" in first.content.decode() and 'rel="next"' in first.content.decode()
    second = search(agent_client, "gizmo", page=2)
    assert numbers(second) == newest_first[10:]
    assert 'rel="next"' not in second.content.decode()


def test_the_page_costs_the_same_queries_for_many_results(
    agent_client: Any, agent: Any, box: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(3):
        ticket = make_ticket(f"Widget {n}", ticketbox=box)
        Message.objects.create(ticket=ticket, direction="in", date=ticket.created_at, text="widget")
        Note.objects.create(ticket=ticket, author=agent, body="widget")
    search(agent_client, "widget")  # warm the session and profile
    # The ceiling: session, agent, rights, the sidebar (counts, unread alerts, report
    # permission) and the search; what matters is that more results cost no more.
    with django_assert_max_num_queries(24) as few:
        search(agent_client, "widget")
    for n in range(30):
        ticket = make_ticket(f"Widget {n}", ticketbox=box)
        Message.objects.create(ticket=ticket, direction="in", date=ticket.created_at, text="widget")
        Note.objects.create(ticket=ticket, author=agent, body="widget")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(numbers(search(agent_client, "widget"))) == 33


def test_the_box_keeps_the_query_and_empty_search_explains(agent_client: Any) -> None:
    page = search(agent_client, "blue  teapot").content.decode()
    assert 'value="blue teapot"' in page
    assert "No tickets match." in page
    empty = search(agent_client, "   ").content.decode()
    assert "Type a ticket number" in empty


def test_search_needs_a_login(client: Any) -> None:
    response = search(client, "anything")
    assert response.status_code == 302 and "login" in response["Location"]


def test_results_stop_at_the_cap_without_counting_everything(agent: Any, box: Any) -> None:
    page = search_tickets(agent, "nothing-matches-this", page=10**6, size=50)
    assert page.number == MAX_RESULTS // 50 and page.hits == [] and page.total == 0


@pytest.mark.postgres
def test_postgres_searches_through_the_gin_indexes() -> None:
    """The documents search.py matches are exactly the indexed expressions: with
    sequential scans off, each plan must name its index (a mismatch would silently read
    every row of a table with millions of messages)."""
    from contacts.models import Contact
    from tickets.search import _matching, _matching_addresses, parse

    terms = parse("needle")
    queries = {
        "ticket_search": _matching(Ticket.objects.all(), terms, "subject"),
        "message_search": _matching(Message.objects.all(), terms, "subject", "text"),
        "note_search": _matching(Note.objects.all(), terms, "body"),
        "contact_name_search": _matching(Contact.objects.all(), terms, "name"),
        "contactemail_address_search": _matching_addresses(terms),
    }
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            for index, queryset in queries.items():
                sql, params = queryset.values("pk").query.sql_with_params()
                cursor.execute(f"EXPLAIN {sql}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert index in plan, plan
        finally:
            cursor.execute("RESET enable_seqscan")


# Lists at scale (tickets/listing.py, tuned with bench/ui.py): a capped count, and pages
# fetched by id first.


def test_long_lists_count_up_to_a_cap_and_pages_keep_their_order(
    agent_client: Any, agent: Any, box: Any, monkeypatch: Any
) -> None:
    from tickets import listing

    monkeypatch.setattr(listing, "COUNT_UP_TO", 12)
    AgentProfile.objects.update_or_create(agent=agent, defaults={"rows_per_page": 10})
    made = [make_ticket(f"Ticket {n}", ticketbox=box) for n in range(15)]
    url = reverse("desk:ticketbox", args=[box.pk])

    def listed(response: Any) -> list[int]:
        assert response.status_code == 200
        return [
            int(n) for n in re.findall(r'name="tickets" value="(\d+)"', response.content.decode())
        ]

    first = agent_client.get(url, {"sort": "-number"})
    page = first.content.decode()
    assert "12+ tickets" in page and "Page 1 of 2+" in page
    newest = sorted((t.number for t in made), reverse=True)
    assert listed(first) == newest[:10]
    second = agent_client.get(url, {"sort": "-number", "page": 2})
    assert listed(second) == newest[10:15]  # past the cap pages go on, just uncounted
    assert 'rel="next"' not in second.content.decode()
    assert listed(agent_client.get(url, {"sort": "-number", "page": 3})) == newest[10:15]
    monkeypatch.setattr(listing, "COUNT_UP_TO", 100)
    exact = agent_client.get(url, {"sort": "number"}).content.decode()
    assert "15 tickets" in exact and "Page 1 of 2<" in exact
