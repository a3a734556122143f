"""Hostile customer HTML in the real browser: no script runs, nothing is fetched from
elsewhere until the agent asks for images, and then only the images."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, log_in, screenshot
from tests.factories import make_agent
from tests.mail import customer_mail, route_mail
from tickets.models import Ticket, TicketboxAccess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


class Tracker:
    """A stand-in for the sender's tracking server: records every request it gets."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        tracker = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                tracker.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.end_headers()
                self.wfile.write(GIF)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tracker() -> Iterator[Tracker]:
    server = Tracker()
    yield server
    server.close()


def hostile_html(t: str) -> str:
    """Every trick in one mail; each would call the tracker or set window.pwned if it ran."""
    return f"""<html><head>
<meta http-equiv="refresh" content="0;url={t}/meta-refresh">
<link rel="stylesheet" href="{t}/link-css">
<style>@import url({t}/css-import); body {{ background: url({t}/css-background); }}</style>
<script>window.pwned = 1; fetch("{t}/script-tag");</script>
<base href="{t}/base/">
</head><body>
<p>Hello, please see the invoice.</p>
<img src="{t}/track.gif" width="1" height="1" alt="">
<img src="x" onerror="window.pwned = 2; fetch('{t}/onerror')">
<a href="javascript:window.pwned=3;fetch('{t}/js-link')" id="jslink">Click me</a>
<svg><script>window.pwned = 4; fetch("{t}/svg-script")</script>
  <image href="{t}/svg-image" /><a xlink:href="javascript:fetch('{t}/svg-link')">x</a></svg>
<div style="background-image: url({t}/inline-style); width: 10px; height: 10px"></div>
<iframe src="{t}/iframe"></iframe>
<object data="{t}/object"></object><embed src="{t}/embed">
<form action="{t}/form"><button id="sneaky">Win a prize</button></form>
<video poster="{t}/poster"></video><audio src="{t}/audio"></audio>
<input type="image" src="{t}/input-image">
<table background="{t}/table-background"><tr><td>table</td></tr></table>
<p onmouseover="window.pwned = 5">hover</p>
</body></html>"""


def test_hostile_html_runs_nothing_and_fetches_nothing_until_images_are_asked_for(
    live_server: Any, page: Any, tracker: Tracker
) -> None:
    agent = make_agent("ann", password=PASSWORD)
    outcome = route_mail(
        customer_mail(
            subject="Invoice",
            extra="Content-Type: text/html; charset=utf-8\r\n",
            body=hostile_html(tracker.url),
        )
    )
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    TicketboxAccess.objects.create(ticketbox=ticket.ticketbox, agent=agent, level=3)

    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_server.url, "ann")
    page.goto(f"{live_server.url}/t/{ticket.number}/")
    frame_element = page.wait_for_selector("iframe[data-body]")
    frame = frame_element.content_frame()
    frame.wait_for_load_state("load")
    assert "Hello, please see the invoice." in frame.inner_text("body")

    # Poke at it the way an agent would: hover, click the links and the button.
    frame.hover("text=hover")
    frame.click("text=Click me", no_wait_after=True)
    if frame.locator("text=Win a prize").count():
        frame.click("text=Win a prize", no_wait_after=True)
    page.wait_for_timeout(1500)
    screenshot(page, "hostile-html-before-images")

    assert tracker.paths == [], f"the tracker was contacted: {tracker.paths}"
    assert not [url for url in requests if url.startswith(tracker.url)]
    assert page.evaluate("window.pwned") is None
    assert frame.evaluate("window.pwned") is None
    assert dialogs == []
    assert page.url == f"{live_server.url}/t/{ticket.number}/"

    # Asked for, the images load (and only the images): proof the tracker would have seen
    # anything else, too.
    page.click("[data-show-images]")
    expect(page.locator("iframe[data-body]")).to_have_attribute("src", re.compile("images=1"))
    frame = page.wait_for_selector("iframe[data-body]").content_frame()
    frame.wait_for_load_state("load")
    page.wait_for_timeout(1000)
    screenshot(page, "hostile-html-images-shown")
    assert "/track.gif" in tracker.paths
    assert set(tracker.paths) <= {"/track.gif"}, tracker.paths
    assert frame.evaluate("window.pwned") is None
