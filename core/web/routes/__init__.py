"""The HTTP routes, one module per kind of page; `core.web.app` holds the route table."""
