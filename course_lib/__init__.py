"""Multi-objective recommendation, hands-on: the course helpers.

Importing course_lib is cheap and never imports TensorFlow: the deciding wing
(metrics, fusion, ranking, pso, tuning, pareto) stays fast and usable without it. The Keras
code is exported from notebooks 02 and 03b; import it explicitly:
``from course_lib import encoders, multitask``.
"""

from course_lib.record import record
from course_lib.setup import setup

__all__ = ["record", "setup"]
__version__ = "0.1.0"
