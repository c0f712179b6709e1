"""Facebook Page: sending (adapter.py), connecting (connect.py) and its connect forms (forms.py)."""
