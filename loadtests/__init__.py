"""Locust users, shapes and measurement for A2P load tests."""
