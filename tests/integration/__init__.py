"""Tests of API, storage and protocol behaviour against real databases and servers."""
