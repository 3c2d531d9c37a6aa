"""Summarize: full text of the day's top papers -> an LLM -> validated four-section summaries."""
