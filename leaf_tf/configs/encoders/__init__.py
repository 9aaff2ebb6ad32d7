"""Shipped gin configs (encoders); a package so that gin's include lines find them on the Python path."""
