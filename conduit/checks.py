"""System checks of the conduit's settings (run by `manage.py check`, and --deploy)."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, register


@register(deploy=True)
def encryption_keys(app_configs: Any, **kwargs: Any) -> list[Error]:
    keys = settings.MAILFLOW_ENCRYPTION_KEYS
    if not keys:
        return [
            Error(
                "MAILFLOW_ENCRYPTION_KEYS is not set; mail server passwords cannot be stored.",
                hint="Generate a key: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())' and set MAILFLOW_ENCRYPTION_KEYS to it.",
                id="mailflow.E001",
            )
        ]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            errors.append(
                Error(
                    f"Key {position} of MAILFLOW_ENCRYPTION_KEYS is not a Fernet key.",
                    hint="Each key is 32 url-safe base64-encoded bytes (Fernet.generate_key()).",
                    id="mailflow.E002",
                )
            )
    return errors


@register()
def antivirus_url(app_configs: Any, **kwargs: Any) -> list[Error]:
    """A wrong MAILFLOW_ANTIVIRUS_URL is refused at start-up, not at the first scanned mail."""
    from django.core.exceptions import ImproperlyConfigured

    from conduit.antivirus import configured_scanner

    try:
        configured_scanner()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="mailflow.E003")]
    return []
