"""Put on PYTHONPATH when the suite runs with redis-py's pure-Python parser.

Mapping ``hiredis`` to None makes ``import hiredis`` raise ImportError in every
process of the run (pytest, workers, Flower, the celery CLI), so redis-py falls back
to its own RESP2/RESP3 parsers even though hiredis is installed in the venv.
"""

import sys

sys.modules["hiredis"] = None
