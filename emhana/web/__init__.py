"""The web door: app factory, dependencies, problem+json, pages; domain routers plug in here."""
