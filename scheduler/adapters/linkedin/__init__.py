"""LinkedIn Page: sending (adapter.py) and connecting (connect.py) an organisation page."""
