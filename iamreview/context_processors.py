"""Template context every page needs: the user's role, for showing only the actions they may take."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.roles import Role, user_role


def roles(request: HttpRequest) -> dict[str, object]:
    role = user_role(request.user) if hasattr(request, "user") else Role.NONE
    return {
        "user_role": role,
        "can_review": role >= Role.REVIEWER,
        "can_approve": role >= Role.APPROVER,
        "is_admin_role": role >= Role.ADMIN,
    }
