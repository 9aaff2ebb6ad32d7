"""Shipped gin configs (frontends); a package so that gin's include lines find them on the Python path."""
