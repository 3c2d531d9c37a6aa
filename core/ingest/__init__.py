"""Ingest: arXiv's announcement RSS and export API, parsed and normalised into papers."""


class ArxivError(Exception):
    """arXiv could not be reached, kept failing, or answered with an error; the message says
    which."""
