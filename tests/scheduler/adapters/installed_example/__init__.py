"""A platform package as a city would install it (found through the `civicpost.adapters` entry point)."""
