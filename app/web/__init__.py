"""The web foundation both portals stand on: sessions, CSRF, sign-in, profile, first run, mail, layout, errors."""
