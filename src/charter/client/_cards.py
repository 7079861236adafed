"""Model cards: a version's card as Markdown or data, and the texts written on cards."""

from __future__ import annotations

from collections.abc import Mapping

from charter.client._http import HTTP
from charter.client._models import CardFields, ModelCard
from charter.client._references import Ref, model_path, parse_ref


class CardMethods:
    _http: HTTP

    def get_card(self, ref: Ref) -> str:
        """The version's card: Markdown with YAML front matter, in the Hugging Face layout."""
        return self._http.request("GET", f"{parse_ref(ref).path}/card").text

    def get_card_data(self, ref: Ref) -> ModelCard:
        """The same card as data: its front matter and each section's content."""
        path = f"{parse_ref(ref).path}/card"
        return ModelCard.model_validate(self._http.json("GET", path, params={"format": "json"}))

    def get_model_card_fields(self, model: str) -> CardFields:
        """The texts on a model's card, which every version's card shows unless it overrides."""
        return CardFields.model_validate(self._http.json("GET", f"{model_path(model)}/card-fields"))

    def get_version_card_fields(self, ref: Ref) -> CardFields:
        """A version's own card texts, and (``effective``) with the model's it inherits."""
        path = f"{parse_ref(ref).path}/card-fields"
        return CardFields.model_validate(self._http.json("GET", path))

    def update_model_card_fields(self, model: str, fields: Mapping[str, str | None]) -> CardFields:
        """Set texts on a model's card: license, intended_use, out_of_scope_use, limitations,
        recommendations, training_data. None (or "") clears one; absent ones stay."""
        path = f"{model_path(model)}/card-fields"
        return CardFields.model_validate(self._http.json("PATCH", path, json=dict(fields)))

    def update_version_card_fields(self, ref: Ref, fields: Mapping[str, str | None]) -> CardFields:
        """Set texts on one version's card; they win over the model's."""
        path = f"{parse_ref(ref).path}/card-fields"
        return CardFields.model_validate(self._http.json("PATCH", path, json=dict(fields)))
