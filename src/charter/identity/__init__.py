"""Identity: users and service accounts, their API tokens, SSO sessions and role grants."""
