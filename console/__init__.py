"""Skranke console: the app shell and its UI-free core."""
