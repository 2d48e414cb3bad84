"""The benchmark suite: what the orchestration costs over calling the model directly,
and next to LiteLLM, measured in one run on this machine (`make bench`, `moe bench`)."""
