"""`make bench`: Wharf against the reference registry (Debian's docker-registry, CNCF distribution)."""
