"""Helpers of the Celery end-to-end suite: processes, servers under test, waiting."""
