"""Request and response shapes of the model cards area."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from charter.registry.schemas import Strict


# What a client sends to change a card's texts: a string sets a field, null (or "") clears it,
# an absent field is left as it is.
class CardFieldsUpdate(Strict):
    license: str | None = None
    intended_use: str | None = None
    out_of_scope_use: str | None = None
    limitations: str | None = None
    recommendations: str | None = None
    training_data: str | None = None


# A model's (or a version's) own card texts; for a version, ``effective`` adds the model's
# texts that the version does not override.
class CardFieldsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    model: str
    version: int | None
    fields: dict[str, str]
    effective: dict[str, str]


# One section of a card, as data (``?format=json``).
class CardSectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    title: str
    data: dict[str, Any]


# A version's model card as data: the front matter and each section's content.
class ModelCardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    model: str
    version: int
    metadata: dict[str, Any]
    sections: list[CardSectionRead]
