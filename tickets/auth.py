"""Authentication backend: the built-in Administrators group carries every permission."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from tickets.agents import ADMINISTRATORS


def is_administrator(user: Any) -> bool:
    """True for active superusers and active members of the Administrators group."""
    if not getattr(user, "is_active", False):
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_mailflow_is_admin", None)
    if cached is None:
        cached = user.groups.filter(name=ADMINISTRATORS).exists()
        user._mailflow_is_admin = cached
    return cached


class AdministratorsBackend(ModelBackend):
    """Django's model backend, plus: Administrators may do everything."""

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return is_administrator(user_obj) or super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return is_administrator(user_obj) or super().has_module_perms(user_obj, app_label)
