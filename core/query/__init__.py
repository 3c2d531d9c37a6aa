"""Queries over the stored days: the per-day index, search, parameters, and the one filter
configured and ad-hoc feeds share."""
