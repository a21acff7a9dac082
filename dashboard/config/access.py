"""Who is looking, and which teams they see.

With ``access.sign_in`` on, every page asks for sign-in through the OIDC provider Streamlit's
``st.login`` talks to; its settings and secrets are Streamlit's own (``[auth]`` in
``.streamlit/secrets.toml``, see docs/security.md), never config.yaml. The signed-in identity (the
``access.identity_claim`` of the ID token, ``email`` by default) is matched against
``access.all_teams`` and ``access.teams`` (glob patterns, case-insensitive), and optionally the
teams listed in a token claim (``access.teams_claim``, e.g. ``groups``), giving a :class:`Viewer`:

- a viewer of every team sees what a dashboard without sign-in shows;
- a team-scoped viewer sees only their teams' functions, alerts and estimated costs: the team
  filter offers only those teams, a link to another team's function says it is not among theirs,
  and the figures that cover whole accounts (Cost Explorer's bill, the spend tile) are not shown;
- an identity that maps to no team sees one sentence saying so, and nothing is read from AWS.

Pure functions of the settings and the token's claims: pages, tests and the CLI share them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import httpx
from cachetools import TTLCache, cached

from dashboard.config.echo import echo
from dashboard.config.settings import AccessSettings

__all__ = ["ALL_TEAMS", "Viewer", "EVERYONE", "resolve", "auth_problem", "metadata_url", "provider_problem"]

ALL_TEAMS = "*"
# what st.login needs in the provider's section of secrets.toml, besides [auth]'s redirect_uri and cookie_secret
_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


@dataclass(frozen=True)
class Viewer:
    """The person looking: ``teams`` None means every team (no sign-in, or a viewer of all teams)."""

    identity: str | None
    teams: frozenset[str] | None
    problem: str | None = None  # one sentence: why this viewer sees nothing

    @property
    def scoped(self) -> bool:
        return self.teams is not None

    def sees(self, team: str | None) -> bool:
        return self.teams is None or (team is not None and team in self.teams)

    def visible(self, teams: Iterable[str]) -> list[str]:
        """The teams of ``teams`` this viewer sees, in their order."""
        return [t for t in teams if self.sees(t)]

    def team_filter(self, chosen: Iterable[str]) -> tuple[str, ...]:
        """The team filter the loaders get: what the viewer chose among their teams, or all their teams.

        An empty tuple means every team, so a scoped viewer never gets one.
        """
        picked = tuple(t for t in chosen if self.sees(t))
        if picked or self.teams is None:
            return picked
        return tuple(sorted(self.teams))

    def describe(self) -> str:
        if self.identity is None:
            return "Sign-in is off: every team is shown."
        teams = "every team" if self.teams is None else ", ".join(sorted(self.teams)) or "no team"
        return f"Signed in as {self.identity} · sees {teams}"


EVERYONE = Viewer(identity=None, teams=None)


def _matches(pattern: str, identity: str) -> bool:
    return fnmatchcase(identity.casefold(), pattern.casefold())


def _claim_values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v for v in value.replace(",", " ").split() if v]
    if isinstance(value, Iterable):
        return [str(v) for v in value if str(v)]
    return []


def resolve(access: AccessSettings, claims: Mapping[str, Any]) -> Viewer:
    """The viewer the ID token's ``claims`` describe under ``access`` (which must have sign-in on)."""
    raw = claims.get(access.identity_claim)
    if not isinstance(raw, str) or not raw.strip():
        return Viewer(
            None,
            frozenset(),
            f"Your sign-in did not say who you are: the identity provider sent no {echo(access.identity_claim)} claim "
            "(access.identity_claim in config.yaml names the claim to use).",
        )
    identity = raw.strip()
    if access.identity_claim == "email" and str(claims.get("email_verified", "")).lower() == "false":  # some send "false"
        return Viewer(
            identity,
            frozenset(),
            f"Your identity provider says the address {identity} is not verified; verify it there, then sign in again.",
        )
    if any(_matches(p, identity) for p in access.all_teams):
        return Viewer(identity, None)
    teams: set[str] = set()
    for pattern, mapped in access.teams.items():
        if _matches(pattern, identity):
            teams.update(mapped)
    if access.teams_claim:
        teams.update(_claim_values(claims.get(access.teams_claim)))
    if ALL_TEAMS in teams:
        return Viewer(identity, None)
    if not teams:
        return Viewer(
            identity,
            frozenset(),
            f"You are signed in as {identity}, but config.yaml maps this identity to no team: "
            "ask whoever runs Lambda Lens to add it under access.teams.",
        )
    return Viewer(identity, frozenset(teams))


def auth_problem(access: AccessSettings, auth: Mapping[str, Any] | None) -> str | None:
    """One sentence when sign-in is on but Streamlit's ``[auth]`` secrets cannot drive it, else None."""
    if not access.sign_in:
        return None
    where = "[auth]" if access.provider is None else f"[auth.{access.provider}]"
    fix = "see docs/security.md, Sign-in"
    if not auth:
        return (
            "Sign-in is on (access.sign_in in config.yaml) but .streamlit/secrets.toml has no [auth] section: "
            f"add redirect_uri, cookie_secret and the provider's client_id, client_secret and server_metadata_url ({fix})."
        )
    section = auth if access.provider is None else auth.get(access.provider)
    if not isinstance(section, Mapping):
        return f"Sign-in names the provider {echo(access.provider)} but .streamlit/secrets.toml has no {where} section ({fix})."
    missing = [f"{k} in [auth]" for k in ("redirect_uri", "cookie_secret") if not auth.get(k)]
    missing += [f"{k} in {where}" for k in _PROVIDER_KEYS if not section.get(k)]
    if missing:
        return f"Sign-in is on but .streamlit/secrets.toml lacks {', '.join(missing)} ({fix})."
    if not str(auth["redirect_uri"]).endswith("/oauth2callback"):
        return f"[auth] redirect_uri in .streamlit/secrets.toml must end with /oauth2callback, not {echo(auth['redirect_uri'])} ({fix})."
    return None


def metadata_url(access: AccessSettings, auth: Mapping[str, Any]) -> str:
    """The provider's OpenID discovery URL from secrets that :func:`auth_problem` accepted."""
    section = auth if access.provider is None else auth[access.provider]
    return str(section["server_metadata_url"])


# a minute: a provider back up is noticed soon; signed-out visitors do not each ask it
_PROVIDER_CHECKS: TTLCache = TTLCache(maxsize=16, ttl=60)


@cached(_PROVIDER_CHECKS, lock=threading.Lock())
def provider_problem(url: str, *, timeout_s: float = 3.0) -> str | None:
    """One sentence when the provider's discovery document cannot be read, else None (cached a minute).

    Streamlit answers a failed sign-in redirect with a bare "Authentication error"; asking first lets the
    sign-in page name the cause and the fix instead.
    """
    fix = "check server_metadata_url in .streamlit/secrets.toml and that the provider is up"
    try:
        response = httpx.get(url, timeout=timeout_s, follow_redirects=True)
        response.raise_for_status()
        document = response.json()
        problem = None if isinstance(document, dict) and document.get("authorization_endpoint") else (
            f"The sign-in provider's discovery document at {url} has no authorization_endpoint; {fix}."
        )
    except httpx.HTTPStatusError as e:
        problem = f"The sign-in provider answered HTTP {e.response.status_code} at {url}; {fix}."
    except httpx.HTTPError as e:
        problem = f"The sign-in provider cannot be reached at {url} ({type(e).__name__}); {fix}."
    except ValueError:
        problem = f"The sign-in provider's discovery document at {url} is not JSON; {fix}."
    return problem
