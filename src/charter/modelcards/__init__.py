"""Model cards: a Hugging Face-style Markdown card for any version, built from registry data by
section providers (``sections``), with a few editable texts per model and per version."""
