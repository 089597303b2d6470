"""Locust users for benchmarks/load.py: reviewers and viewers browsing and triaging, logged in like people.

Each user logs in through the login form (CSRF token and all), then browses the dashboard, principal
lists (full pages and htmx fragments, filters, sorting, search), principal pages, findings and keys, and
reviewers acknowledge findings in bulk. Think time 2 to 8 s: a person reading a page
(LOAD_THINK_MIN / LOAD_THINK_MAX change it).
"""

from __future__ import annotations

import os
import random

from locust import HttpUser, between, task

PRINCIPALS = int(os.environ.get("LOAD_PRINCIPALS", "100000"))
FIRST_PRINCIPAL = int(os.environ.get("LOAD_FIRST_PRINCIPAL_ID", "1"))
FIRST_FINDING = int(os.environ.get("LOAD_FIRST_FINDING_ID", "1"))
USERS = int(os.environ.get("LOAD_USERS", "50"))
PASSWORD = os.environ.get("LOAD_PASSWORD", "load-test-password-1")
HX = {"HX-Request": "true"}


class Reviewer(HttpUser):
    wait_time = between(
        float(os.environ.get("LOAD_THINK_MIN", "2")), float(os.environ.get("LOAD_THINK_MAX", "8"))
    )

    def on_start(self) -> None:
        self.number = random.randrange(USERS)  # nosec B311 - load pattern, not security
        self.client.get("/login/", name="login (form)")
        token = self.client.cookies.get("csrftoken", "")
        self.client.post(
            "/login/",
            {"username": f"load{self.number:03d}", "password": PASSWORD, "csrfmiddlewaretoken": token},
            name="login (POST)",
        )

    def _csrf(self) -> dict[str, str]:
        return {"X-CSRFToken": self.client.cookies.get("csrftoken", "")}

    @task(3)
    def dashboard(self) -> None:
        self.client.get("/", name="dashboard")

    @task(4)
    def principals(self) -> None:
        query = random.choice(  # nosec B311
            ["", "?band=high", "?type=user&sort=name", "?q=r0" + str(random.randint(0, 9))]  # nosec B311
        )
        self.client.get(f"/principals/{query}", name="principals")

    @task(4)
    def principals_fragment(self) -> None:
        page = random.randint(1, 400)  # nosec B311
        self.client.get(f"/principals/?page={page}", headers=HX, name="principals (htmx page)")

    @task(5)
    def principal_page(self) -> None:
        pk = FIRST_PRINCIPAL + random.randrange(PRINCIPALS)  # nosec B311
        self.client.get(f"/principals/{pk}/", name="principal page")

    @task(3)
    def findings(self) -> None:
        severity = random.choice(["", "critical", "high"])  # nosec B311
        self.client.get(f"/findings/?severity={severity}", name="findings")

    @task(1)
    def keys(self) -> None:
        self.client.get("/keys/", name="keys")

    @task(2)
    def triage(self) -> None:
        if self.number % 2 == 0:  # even-numbered users are viewers: they browse, reviewers triage
            return self.principals()
        ids = [str(FIRST_FINDING + random.randrange(PRINCIPALS // 2)) for _ in range(3)]  # nosec B311
        self.client.post(
            "/findings/bulk/",
            {"finding": ids, "action": "acknowledge", "next": "status=open"},
            headers=self._csrf(),
            name="triage (bulk acknowledge)",
            allow_redirects=False,
        )
        return None
