"""Training data at scale and the recipes that teach a VLM to read rendered text: the style sampler
(styles.py), corpora (corpus.py), record builders per task (tasks.py), shards and their layouts (shards.py),
the build, local or on Ray (build.py, distributed.py), the dataset card (card.py), reward functions
(rewards.py) and ``glyphpress data`` (commands.py)."""
