"""Plot helpers shared by the notebooks. Code here only makes figures prettier:
a learner may skip it. Every function titles its figure and labels its axes,
and returns the matplotlib Axes (or Figure) it drew on.
"""

from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: F401

# ---- 01_behaviour_analysis --------------------------------------------------

# ---- 02_encoders ------------------------------------------------------------

# ---- 03_multi_objective_model -----------------------------------------------

# ---- 04_ranking_objectives --------------------------------------------------

# ---- 05_pso_tuning / 06_ga_nsga2_tuning -------------------------------------

# ---- 07_evaluation ----------------------------------------------------------
