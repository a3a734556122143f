"""Public endpoints of delivery tracking: the open image and tracked links (thin)."""

from __future__ import annotations

import base64

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from conduit import tracking

# A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@require_GET
@never_cache
def track_open(request: HttpRequest, token: str) -> HttpResponse:
    tracking.record_open(token, user_agent=request.headers.get("User-Agent", ""))
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
@never_cache
def track_click(request: HttpRequest, token: str) -> HttpResponse:
    url, signature = request.GET.get("u", ""), request.GET.get("s", "")
    if not url.lower().startswith(("http://", "https://")) or not tracking.signed(
        token, url, signature
    ):
        raise Http404("Unknown link.")
    tracking.record_click(token, url, user_agent=request.headers.get("User-Agent", ""))
    return HttpResponseRedirect(url)
