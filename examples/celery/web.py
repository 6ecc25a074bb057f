"""A tiny web producer: POST an order, get a task id; GET the task's state.

    POST /orders      {"id": "A1", "items": [{"price": 2.5, "quantity": 2}]}
                      -> 202 {"task_id": "..."}
    GET  /tasks/<id>  -> 200 {"state": "SUCCESS", "result": {...}}

Standard library only (plus the Celery app in tasks.py). HOST and PORT choose the
listening address (127.0.0.1:8000 by default).
"""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from celery.result import AsyncResult

from tasks import app, process_order


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path != "/orders":
            return self.reply(404, {"error": "not found"})
        try:
            length = int(self.headers.get("Content-Length", 0))
            order = json.loads(self.rfile.read(length))
            assert isinstance(order.get("items"), list)
        except (ValueError, AssertionError):
            return self.reply(400, {"error": "expected a JSON order with items"})
        result = process_order.delay(order)
        self.reply(202, {"task_id": result.id})

    def do_GET(self):
        if not self.path.startswith("/tasks/"):
            return self.reply(404, {"error": "not found"})
        result = AsyncResult(self.path[len("/tasks/"):], app=app)
        body = {"state": result.state}
        if result.successful():
            body["result"] = result.result
        elif result.failed():
            body["error"] = repr(result.result)
        self.reply(200, body)


def main():
    address = (os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8000")))
    server = ThreadingHTTPServer(address, Handler)
    print(f"producer listening on http://{address[0]}:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
