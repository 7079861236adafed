"""Alembic migrations, shipped inside the package so an installed ``charter db upgrade`` works."""
