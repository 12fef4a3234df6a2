"""Moto in server mode on loopback, single-threaded.

The stock `moto_server` is multi-threaded and does not make a DynamoDB transaction atomic
against concurrent requests, so a race test against it proves nothing. Serving one request at
a time gives the isolation DynamoDB's transactions promise.

usage: server.py PORT [PARENT_PID]
With PARENT_PID the server exits when that process is gone, so a test run that is killed
does not leave an emulator behind.
"""
import os
import sys
import threading
import time

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def watch_parent(pid):
    while True:
        try:
            os.kill(pid, 0)
        except OSError:
            os._exit(0)
        time.sleep(0.5)


def main():
    port = int(sys.argv[1])
    if len(sys.argv) > 2:
        threading.Thread(target=watch_parent, args=(int(sys.argv[2]),), daemon=True).start()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        "127.0.0.1",
        port,
        app,
        threaded=False,
        use_reloader=False,
        request_handler=QuietHandler,
    )


if __name__ == "__main__":
    main()
