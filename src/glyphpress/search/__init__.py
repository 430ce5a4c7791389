"""Searching the rendering θ for a model and its documents (the Glyph paper's LLM-guided genetic search):
the search space and its genetic operators (space.py), what a candidate is worth (fitness.py: ρ, OCR
legibility, a bench task's accuracy, the objective and the Pareto front), the guiding LLM (proposer.py), the
search with its ledger (run.py) and its report (report.py)."""

from .fitness import Compression, Evaluation, Legibility, TaskAccuracy, bound, objective, pareto, spread
from .space import SPACES, Param, Space, load_space

__all__ = ["SPACES", "Param", "Space", "load_space", "Compression", "Legibility", "TaskAccuracy", "Evaluation",
           "objective", "bound", "pareto", "spread"]
