"""Searching the rendering θ for a model and its documents (the Glyph paper's LLM-guided genetic search).
So far: the search space and its genetic operators (space.py), and what a candidate is worth: ρ,
OCR legibility, the objective and the Pareto front (fitness.py)."""

from .fitness import Compression, Evaluation, Legibility, objective, pareto, spread
from .space import SPACES, Param, Space, load_space

__all__ = ["SPACES", "Param", "Space", "load_space", "Compression", "Legibility", "Evaluation", "objective",
           "pareto", "spread"]
