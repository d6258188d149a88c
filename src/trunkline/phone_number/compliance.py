"""Compliance of a purchase (docs/api-decisions.md §6.7): the address and requirement entries a
buy request carries, and the pure rule that says whether they meet what the provider demands
for the number's country and type."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from trunkline.kit.e164 import COUNTRY_CODES
from trunkline.kit.schema import RequestModel, ResponseModel
from trunkline.phone_number.provider.base import Requirement


class ComplianceStatus(StrEnum):
    not_required = "not_required"  # the provider demands nothing for this country and type
    completed = "completed"  # everything demanded was supplied
    pending = "pending"  # something demanded is missing: supply it with the provider


class PurchaseAddress(RequestModel):
    """The holder's address, for numbers whose country requires one; every field optional."""

    first_name: str | None = Field(default=None, max_length=255)
    last_name: str | None = Field(default=None, max_length=255)
    business_name: str | None = Field(default=None, max_length=255)
    phone_number: str | None = Field(default=None, max_length=32)
    street_address: str | None = Field(default=None, max_length=255)
    extended_address: str | None = Field(default=None, max_length=255)
    locality: str | None = Field(default=None, max_length=255)
    administrative_area: str | None = Field(default=None, max_length=255)
    postal_code: str | None = Field(default=None, max_length=32)
    country_code: str | None = Field(
        default=None, description="ISO-3166 alpha-2; defaults to the purchase's country_code"
    )

    @field_validator("country_code")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if code not in COUNTRY_CODES:
            raise PydanticCustomError(
                "invalid_country_code", "Must be an ISO-3166 alpha-2 country code, e.g. US."
            )
        return code


class PurchaseRequirement(RequestModel):
    """One requirement supplied with a purchase, named by ``key`` (a requirement's ``name``)."""

    key: str | None = Field(default=None, max_length=64, examples=["proof_of_address"])
    requirement_id: uuid.UUID | None = None
    value: str | None = Field(default=None, max_length=2048, description="textual requirements")
    document_id: str | None = Field(
        default=None, max_length=255, description="document requirements: an uploaded document"
    )


class RequirementRead(ResponseModel):
    name: str = Field(examples=["address"])
    type: str = Field(examples=["address"], description="address | document | textual")
    description: str


class ComplianceRead(ResponseModel):
    status: str = Field(examples=["not_required"], description="not_required|completed|pending")
    requirements: list[RequirementRead] = Field(
        description="What the provider demands for the number's country and type"
    )


# The address fields an ``address`` requirement needs (the rest are optional everywhere).
ADDRESS_FIELDS = ("street_address", "locality", "postal_code")


def _met(req: Requirement, address: dict[str, Any], supplied: Sequence[dict[str, Any]]) -> bool:
    if req.type == "address":
        return all(address.get(f) for f in ADDRESS_FIELDS)
    wanted = "document_id" if req.type == "document" else "value"
    return any(entry.get("key") == req.name and entry.get(wanted) for entry in supplied)


def compliance_status(
    demanded: Sequence[Requirement],
    address: dict[str, Any],
    supplied: Sequence[dict[str, Any]],
) -> ComplianceStatus:
    """``not_required`` when nothing is demanded, ``completed`` when every demand is met (an
    address requirement by the address's street, locality and postal code; a document or textual
    one by a supplied entry of that ``key`` with a ``document_id`` / ``value``), else
    ``pending``."""
    if not demanded:
        return ComplianceStatus.not_required
    if all(_met(req, address, supplied) for req in demanded):
        return ComplianceStatus.completed
    return ComplianceStatus.pending


def compliance_record(
    demanded: Sequence[Requirement],
    address: dict[str, Any],
    supplied: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """The ``compliance`` JSON stored on a purchased number."""
    return {
        "status": compliance_status(demanded, address, supplied).value,
        "requirements": [
            {"name": r.name, "type": r.type, "description": r.description} for r in demanded
        ],
    }
