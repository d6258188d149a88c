"""The Contact user of registrations Trunkline holds: ``tl-<source id>``.

A connection with ``register``, a BYO trunk with credentials and a PBX extension connector
register the SIP edge's public address as their Contact under this user, so a provider or PBX
that delivers calls to the registered contact (RFC 3261 §10, §16.5) reaches the edge with a
Request-URI that names the source it registered for — which is how such an INVITE is trusted
(docs/calls.md §4, check 1).
"""

from __future__ import annotations

import uuid

CONTACT_PREFIX = "tl-"


def contact_user(source_id: uuid.UUID) -> str:
    return f"{CONTACT_PREFIX}{source_id.hex}"


def parse_contact_user(user: str | None) -> uuid.UUID | None:
    """The source a Request-URI user names, or None when it is not one of our contacts."""
    if not user or not user.startswith(CONTACT_PREFIX) or len(user) != len(CONTACT_PREFIX) + 32:
        return None
    try:
        return uuid.UUID(hex=user[len(CONTACT_PREFIX) :])
    except ValueError:
        return None
