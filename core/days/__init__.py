"""Announcement days: which are held, missing or holidays, and recovering missed ones."""
