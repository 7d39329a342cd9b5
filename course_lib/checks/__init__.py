"""Self-checks for the exercises: the shared machinery (each notebook's checks live in ``checks/nbNN.py``).

A check prints "✅ ..." for a right answer (without revealing it), "⏳ ... not attempted yet" while the stub returns
``None`` or ``...``, and otherwise raises an ``ExerciseError`` that says what is wrong. The hints of its ``expect``
calls are listed in the instructor guide as the mistakes it diagnoses. See CONTRIBUTING.md, "Exercises".
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


def fail(exercise: str, hint: str) -> None:
    """Raise ExerciseError with ``hint`` (a diagnosis found by a test rather than stated as a condition)."""
    raise ExerciseError(f"Exercise {exercise}: not yet. {hint}")


def number(answer, exercise: str) -> float:
    """The answer as a float, or an ExerciseError asking for one number."""
    try:
        return float(answer)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise {exercise}: return one number (a float), got {type(answer).__name__}") from None


def as_array(answer, exercise: str, what: str) -> np.ndarray:
    """The answer as a float array, or an ExerciseError asking for ``what``."""
    try:
        return np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise {exercise}: return {what}, got {type(answer).__name__}") from None


def close(a, b, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Whether two numbers or arrays of the same shape are equal up to rounding."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def expect_close(answer, expected, exercise: str, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Raise ExerciseError unless ``answer`` is numerically close to ``expected``."""
    a = as_array(answer, exercise, f"{what} as a number or an array")
    e = np.asarray(expected, dtype=float)
    if a.shape != e.shape:
        raise ExerciseError(f"Exercise {exercise}: {what} should have shape {e.shape}, got {a.shape}")
    if not close(a, e, rtol, atol):
        raise ExerciseError(f"Exercise {exercise}: {what}: got {np.round(a, 4)}, expected about {np.round(e, 4)}")


def compare(answer, expected, exercise: str, what: str, wrong: dict, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Pass if ``answer`` is close to ``expected``; else name the known mistake (``{hint: value}``) it matches."""
    a = as_array(answer, exercise, f"{what} as a number or an array")
    if close(a, expected, rtol, atol):
        return
    for hint, value in wrong.items():
        if close(a, value, rtol, atol):
            raise ExerciseError(f"Exercise {exercise}: not yet, for {what}: {hint}")
    expect_close(a, expected, exercise, what, rtol, atol)


def check_choice(exercise: str, answer, options: dict[str, tuple[bool, str]]) -> None:
    """A multiple-choice answer: ``options`` maps each letter to (right?, why); the reason comes either way."""
    if not attempted(answer, exercise):
        return
    letter = str(answer).strip().lower()
    expect(letter in options, exercise, f"answer with one of {sorted(options)}, got {answer!r}.")
    right, why = options[letter]
    expect(right, exercise, f"({letter}) is not it: {why}")
    passed(exercise, why)


def choice(options: dict, exercise: str, question: str):
    """The multiple-choice check of ``exercise``, whose options are ``options[exercise]``: ``check(answer)``."""

    def check(answer) -> None:
        check_choice(exercise, answer, options[exercise])

    check.__name__ = check.__qualname__ = f"check_exercise_{exercise.replace('.', '_')}"
    check.__doc__ = f"Exercise {exercise}: {question}"
    return check


def check_prediction(exercise: str, guess, actual: float, what: str, rel_tol: float = 0.25) -> None:
    """A numeric prediction committed before running: passes within ``rel_tol`` of ``actual``; says how far off."""
    if not attempted(guess, exercise):
        return
    g = number(guess, exercise)
    off = (g - actual) / abs(actual) if actual else g - actual
    said = f"you predicted {g:.4g} for {what}; it is {actual:.4g} ({off:+.0%})."
    expect(abs(off) <= rel_tol, exercise, f"{said} Re-read the debrief below to see which effect you under- or "
           "overestimated.")
    passed(exercise, said)
