"""Self-checks for the exercises: each says what is wrong, or that all is well.

The shared machinery is here; each notebook's checks live in ``checks/nbNN.py``
(``from course_lib.checks import nb05``). Every check prints a line starting with "✅"
when the answer is right (without revealing it) and raises an ``ExerciseError`` (an
AssertionError) that says what is wrong otherwise; a stub still returning ``None`` or
``...`` gets a "not attempted yet" line. See CONTRIBUTING.md, "Exercises".
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
        raise ExerciseError(
            f"Exercise {exercise}: {what} should be a number or an array, got {type(answer).__name__}"
        ) from None
    e = np.asarray(expected, dtype=float)
    if a.shape != e.shape:
        raise ExerciseError(f"Exercise {exercise}: {what} should have shape {e.shape}, got {a.shape}")
    if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        raise ExerciseError(f"Exercise {exercise}: {what} is {np.round(a, 4)}, expected about {np.round(e, 4)}")


def check_choice(exercise: str, answer, options: dict[str, tuple[bool, str]]) -> None:
    """A multiple-choice answer: ``options`` maps each letter to (right?, why).

    Prints the reason with the success line; raises ExerciseError with the reason of a wrong
    letter (so the feedback explains, not only judges).
    """
    if not attempted(answer, exercise):
        return
    letter = str(answer).strip().lower()
    expect(letter in options, exercise, f"answer with one of {sorted(options)}, got {answer!r}.")
    right, why = options[letter]
    expect(right, exercise, f"({letter}) is not it: {why}")
    passed(exercise, why)


def check_prediction(exercise: str, guess, actual: float, what: str, rel_tol: float = 0.25) -> None:
    """A numeric prediction committed before running: within ``rel_tol`` of ``actual`` passes.

    Either way the learner learns how far off the guess was; a miss raises ExerciseError.
    """
    if not attempted(guess, exercise):
        return
    try:
        g = float(guess)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise {exercise}: give your prediction as a number, got {type(guess).__name__}") from None
    off = (g - actual) / abs(actual) if actual else g - actual
    expect(abs(off) <= rel_tol, exercise,
           f"you predicted {g:.4g} for {what}; it is {actual:.4g} ({off:+.0%}). Re-read the debrief below "
           f"to see which effect you under- or overestimated.")
    passed(exercise, f"you predicted {g:.4g} for {what}; it is {actual:.4g} ({off:+.0%}).")
