"""Self-checks for the exercises: each says what is wrong, or that all is well.

Every check prints a line starting with "✅" when the answer is right and raises
an ``ExerciseError`` (an AssertionError) that says what is wrong otherwise.
Solutions live in each notebook, behind a collapsible "Solution" cell.
"""

from __future__ import annotations

import numpy as np


class ExerciseError(AssertionError):
    """An exercise answer is not right yet; the message says why."""


def attempted(answer, exercise: str) -> bool:
    """False (with a friendly line) while the learner's stub still returns None or ``...``."""
    if answer is None or answer is Ellipsis:
        print(f"⏳ Exercise {exercise}: not attempted yet. Write your answer in the cell above and run this one again.")
        return False
    return True


def passed(exercise: str, message: str = "") -> None:
    """Print the success line of an exercise."""
    print(f"✅ Exercise {exercise}: correct. {message}".rstrip())


def expect(condition: bool, exercise: str, hint: str) -> None:
    """Raise ExerciseError with ``hint`` unless ``condition`` holds."""
    if not condition:
        raise ExerciseError(f"Exercise {exercise}: not yet. {hint}")


def expect_close(answer, expected, exercise: str, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Raise ExerciseError unless ``answer`` is numerically close to ``expected``."""
    try:
        a = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise {exercise}: {what} should be a number or an array, got {type(answer).__name__}")
    e = np.asarray(expected, dtype=float)
    if a.shape != e.shape:
        raise ExerciseError(f"Exercise {exercise}: {what} should have shape {e.shape}, got {a.shape}")
    if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        raise ExerciseError(f"Exercise {exercise}: {what} is {np.round(a, 4)}, expected about {np.round(e, 4)}")


# ---- 00_welcome -------------------------------------------------------------

# ---- 01_behaviour_analysis --------------------------------------------------

# ---- 02_encoders ------------------------------------------------------------

# ---- 03_multi_objective_model -----------------------------------------------

# ---- 04_ranking_objectives --------------------------------------------------

# ---- 05_pso_tuning ----------------------------------------------------------

# ---- 06_ga_nsga2_tuning -----------------------------------------------------

# ---- 07_evaluation ----------------------------------------------------------
