"""The default reader: the keywords, aliases and interests a fresh clone ranks by (the ones
`arxiv-feeds.toml` ships; a test keeps the two equal)."""

from __future__ import annotations

DEFAULT_KEYWORDS: list[str] = [
    "LLM",
    "RL",
    "RLHF",
    "Inference",
    "Training",
    "Attention",
    "Pipeline",
    "MoE",
    "Sparse",
    "Quantization",
    "Speculative",
    "Efficient",
    "Framework",
    "Parallel",
    "Distributed",
    "Kernel",
    "Decoding",
    "Prefill",
    "Throughput",
    "Network",
    "Hardware",
    "Cluster",
    "FP8",
    "FP4",
    "Optimization",
    "Scalable",
    "Communication",
    "KV cache",
    "State Space",
]
DEFAULT_INTERESTS = (
    "Making large language models and other large models efficient: faster and cheaper "
    "training and inference, distributed and parallel training, LLM serving systems and "
    "scheduling, GPU and attention kernels, quantization, pruning and sparsity, mixture of "
    "experts, KV cache management and compression, speculative decoding, long context, state "
    "space models, hardware, memory and communication for large models, and reinforcement "
    "learning used to train LLMs."
)
"""The default profile in plain words: it goes with the default keywords, so it is the
default only while `rank.keywords` is."""
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "LLM": ("large language model",),
    "RL": ("reinforcement learning",),
    "MoE": ("mixture of experts",),
}
