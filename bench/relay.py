#!/usr/bin/env python3
"""The issue's peer: a one-file Python relay (paho-mqtt), the ground hallq
is asked to beat on. One thread: a pad's command comes in, one line is
appended to a file and fdatasync'ed, the window's new state is published
(retained, QoS 0, as hallq does). No rules, no database, no checks.
TCP_NODELAY on its socket, as the issue's clients had.

Run by hallq-bench: relay.py HOST PORT HALL USER PASSWORD LOGFILE;
prints "ready" once subscribed.
"""
import json
import os
import socket
import sys

import paho.mqtt.client as mqtt

host, port, hall, user, password, log = sys.argv[1:7]
prefix = f"hallq/v1/{hall}/"
out = open(log, "ab", buffering=0)
seq = 0


def on_connect(client, userdata, flags, rc):
    client.subscribe(prefix + "pad/+/cmd", qos=1)


def on_subscribe(client, userdata, mid, granted):
    print("ready", flush=True)


def on_socket_open(client, userdata, sock):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def on_message(client, userdata, msg):
    global seq
    window = msg.topic.split("/")[-2]
    seq += 1
    out.write(msg.payload + b"\n")
    os.fdatasync(out.fileno())
    state = json.dumps({
        "seq": seq, "window": window, "name": f"{window}号窗口",
        "status": "calling", "ticket": f"A{seq % 1000:03}",
        "clerk": None, "paused": None,
    }, ensure_ascii=False)
    client.publish(prefix + f"window/{window}/state", state, qos=0, retain=True)


client = mqtt.Client(client_id=f"{user}.relay", protocol=mqtt.MQTTv311)
client.username_pw_set(user, password)
client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_socket_open = on_socket_open
client.on_message = on_message
client.connect(host, int(port))
client.loop_forever()
