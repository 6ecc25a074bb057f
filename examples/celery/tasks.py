"""The example's Celery app: broker-server as broker and result backend.

Point BROKER_URL at the server (redis:// URL); the same server keeps the results.
"""

import os
import time

from celery import Celery

BROKER_URL = os.environ.get("BROKER_URL", "redis://127.0.0.1:6379/0")

app = Celery("example", broker=BROKER_URL, backend=BROKER_URL)
app.conf.update(
    broker_transport_options={
        # A task not acknowledged within this many seconds is given to another
        # worker; keep it above your longest task (ETA/countdown included).
        "visibility_timeout": 3600,
        # Seconds between PINGs on kombu's long-lived connections.
        "health_check_interval": 25,
    },
    # Results disappear after an hour (a TTL on each result key).
    result_expires=3600,
    # Acknowledge after the task ran, so a crashed worker's task is redelivered.
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_track_started=True,
)


@app.task
def process_order(order):
    """Pretends to process an order: totals its items."""
    time.sleep(float(order.get("work_seconds", 0.5)))
    total = sum(item["price"] * item.get("quantity", 1) for item in order["items"])
    return {"order": order.get("id"), "total": round(total, 2)}
