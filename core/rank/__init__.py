"""Ranking: rules and words, similarity by meaning, the reader's model, explanations."""
