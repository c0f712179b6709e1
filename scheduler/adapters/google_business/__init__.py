"""Google Business Profile: local posts on one location (a library branch, a pool, city hall), and special hours."""
