"""Multi-objective recommendation, hands-on: the course helpers.

Importing course_lib is cheap and never imports TensorFlow: the deciding wing
(metrics, ranking, optimize) stays fast and usable without it. Import the
learning wing explicitly: ``from course_lib import features, models``.
"""

from course_lib.record import read_records, record
from course_lib.setup import setup

__all__ = ["read_records", "record", "setup"]
__version__ = "0.1.0"
