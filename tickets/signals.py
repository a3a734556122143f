"""Receivers that keep agents consistent however a user is made: admin, createsuperuser, code."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from tickets import services
from tickets.agents import ADMINISTRATORS

User = get_user_model()


@receiver(post_save, sender=User, dispatch_uid="tickets.onboard_agent")
def _onboard_new_agent(sender: Any, instance: Any, created: bool, raw: bool, **kwargs: Any) -> None:
    if created and not raw:
        services.onboard_agent(instance)


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="tickets.sync_admin")
def _sync_administrator_flag(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Keep is_staff in step with membership of Administrators, from either side of the relation."""
    admin_group = Group.objects.filter(name=ADMINISTRATORS).first()
    if admin_group is None:
        return
    if action == "pre_clear":
        # clear() names no members afterwards: note now who is leaving Administrators.
        if reverse and instance.pk == admin_group.pk:
            instance._mailflow_leaving = list(instance.user_set.values_list("pk", flat=True))
        elif not reverse and instance.groups.filter(pk=admin_group.pk).exists():
            instance._mailflow_leaving = [instance.pk]
        return
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if action == "post_clear":
        leaving = getattr(instance, "_mailflow_leaving", [])
        users = list(User.objects.filter(pk__in=leaving))
    elif reverse:
        if instance.pk != admin_group.pk:
            return
        users = list(User.objects.filter(pk__in=pk_set or ()))
    else:
        if admin_group.pk not in (pk_set or ()):
            return
        users = [instance]
    for user in users:
        user._mailflow_was_admin = action != "post_add"
        services.sync_administrator_flag(user)
