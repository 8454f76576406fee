"""One peer of a room, spoken by the unmodified python-socketio client (PyPI), for
tests/other-clients.test.mjs. It joins ROOM, and once `ready` sends one message; it prints every
room event it gets as a JSON line, and leaves (`bye`) after it got a message.

    python python_peer.py URL ROOM TRANSPORTS    # TRANSPORTS: default | polling | websocket
"""

import json
import sys
import threading

import socketio

url, room, transports = sys.argv[1], sys.argv[2], sys.argv[3]
sio = socketio.Client(reconnection=False)
done = {"got": False}


lock = threading.Lock()


def say(name, *args):
    # Handlers run on the client's threads: one whole line at a time.
    with lock:
        sys.stdout.write(json.dumps([name, *args]) + "\n")
        sys.stdout.flush()


for name in ["created", "joined", "join", "full", "bye", "log"]:
    sio.on(name, (lambda n: lambda *args: say(n, *args))(name))


@sio.on("ready")
def on_ready(*args):
    say("ready", *args)
    sio.emit("message", {"from": "python", "text": "héllo 🐍"})


@sio.on("message")
def on_message(*args):
    say("message", *args)
    say("transport", sio.transport())
    done["got"] = True
    sio.emit("bye", room)
    sio.disconnect()


@sio.event
def connect():
    say("connect", sio.transport())
    sio.emit("create or join", room)


kwargs = {} if transports == "default" else {"transports": [transports]}
sio.connect(f"{url}?room={room}", socketio_path="socket.io", wait_timeout=10, **kwargs)
sio.sleep(0)
for _ in range(200):
    if done["got"]:
        break
    sio.sleep(0.1)
sio.disconnect()
sys.exit(0 if done["got"] else 1)
