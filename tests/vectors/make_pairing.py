#!/usr/bin/env python3
"""Writes pairing.json: the test vectors both pairing codecs (Rust:
src-tauri/crates/contract/src/pairing, TypeScript: ui/src/lib/pairing.ts)
must agree with. Built here, by a third implementation from the specs
(improv-wifi.com/ble and docs/PROTOCOL.md "Pairing"), so neither codec
grades its own homework. Run it again after changing the format:

    python3 tests/vectors/make_pairing.py
"""
import json
import pathlib


def cs(b):
    return sum(b) & 0xFF


def improv(cmd, data):
    p = bytes([cmd, len(data)]) + data
    return p + bytes([cs(p)])


def strings(*ss):
    out = b""
    for s in ss:
        e = s.encode()
        out += bytes([len(e)]) + e
    return out


def message(fields, version=1):
    body = b"".join(bytes([t, len(v)]) + v for t, v in fields)
    m = bytes([version]) + len(body).to_bytes(2, "big") + body
    return m + bytes([cs(m)])


def raw_message(body, version=1):
    m = bytes([version]) + len(body).to_bytes(2, "big") + body
    return m + bytes([cs(m)])


def chunks(msg, size=18):
    parts = [msg[i : i + size] for i in range(0, len(msg), size)] or [b""]
    return [bytes([i, 1 if i == len(parts) - 1 else 0]) + p for i, p in enumerate(parts)]


hx = lambda b: b.hex()
FP = bytes(range(0xA0, 0xC0))
config = {
    "hosts": ["192.168.1.20", "deck.local"],
    "tcpPort": 5000,
    "udpPort": 5001,
    "deviceId": "kitchen-kit",
    "token": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "tlsFingerprint": hx(FP),
}
fields = [
    (1, b"192.168.1.20"),
    (1, b"deck.local"),
    (2, (5000).to_bytes(2, "big")),
    (3, (5001).to_bytes(2, "big")),
    (4, b"kitchen-kit"),
    (5, b"0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
    (6, FP),
]
msg = message(fields)
plain_fields = [(1, b"10.0.0.7"), (2, b"\x13\x88"), (3, b"\x13\x89"), (4, b"dk-1"), (5, b"t0k")]
plain = message(plain_fields)
wifi = improv(1, strings("MyWirelessAP", "mysecurepassword"))
bad_cs = bytearray(wifi)
bad_cs[-1] ^= 0x55
bad_msg = bytearray(msg)
bad_msg[-1] ^= 0x01
big = message([(1, b"h" * 200), (1, b"i" * 200), (1, b"j" * 200)])

vectors = {
    "about": __doc__.strip().splitlines()[0],
    "improv": {
        "mtu": 20,
        "commands": [
            {"name": "Wi-Fi settings (the spec's example)", "command": {"type": "wifiSettings", "ssid": "MyWirelessAP", "password": "mysecurepassword"}, "hex": hx(wifi), "writes": [hx(wifi[i : i + 20]) for i in range(0, len(wifi), 20)]},
            {"name": "Wi-Fi settings, open network, UTF-8 SSID", "command": {"type": "wifiSettings", "ssid": "Café ☕", "password": ""}, "hex": hx(improv(1, strings("Café ☕", ""))), "writes": None},
            {"name": "identify", "command": {"type": "identify"}, "hex": hx(improv(2, b"")), "writes": None},
            {"name": "device info", "command": {"type": "deviceInfo"}, "hex": hx(improv(3, b"")), "writes": None},
            {"name": "scan", "command": {"type": "scan"}, "hex": hx(improv(4, b"")), "writes": None},
        ],
        "results": [
            {"name": "device info", "hex": hx(improv(3, strings("ESPHome", "2021.11.0", "ESP32-C3", "Temperature Monitor"))), "command": 3, "strings": ["ESPHome", "2021.11.0", "ESP32-C3", "Temperature Monitor"]},
            {"name": "scan", "hex": hx(improv(4, strings("Home", "-60", "WPA2", "Guest", "-52", "NO"))), "command": 4, "strings": ["Home", "-60", "WPA2", "Guest", "-52", "NO"]},
            {"name": "provisioned, with a redirect URL", "hex": hx(improv(1, strings("http://192.168.1.50/"))), "command": 1, "strings": ["http://192.168.1.50/"]},
            {"name": "an empty list", "hex": hx(improv(1, b"")), "command": 1, "strings": []},
        ],
        "malformed": [
            {"name": "bad checksum", "hex": hx(bytes(bad_cs)), "error": "checksum"},
            {"name": "truncated: fewer bytes than the length says", "hex": hx(wifi[:-5]), "error": "truncated"},
            {"name": "truncated: two bytes", "hex": "0100", "error": "truncated"},
            {"name": "oversized: bytes after the checksum", "hex": hx(wifi + b"\x00"), "error": "oversized"},
            {"name": "oversized: a 33-byte SSID", "hex": hx(improv(1, strings("S" * 33, "password"))), "error": "oversized"},
            {"name": "unknown command", "hex": hx(improv(0x07, b"")), "error": "unknown_command"},
            {"name": "a string runs past the data", "hex": hx(improv(1, bytes([12]) + b"MyWireless")), "error": "truncated"},
        ],
        "encodeRefused": [
            {"name": "a 65-byte password", "command": {"type": "wifiSettings", "ssid": "Home", "password": "p" * 65}, "error": "oversized"},
            {"name": "an empty SSID", "command": {"type": "wifiSettings", "ssid": "", "password": "x"}, "error": "missing_field"},
        ],
        "states": {"authorizationRequired": 1, "authorized": 2, "provisioning": 3, "provisioned": 4},
        "errors": {"none": 0, "invalidRpc": 1, "unknownCommand": 2, "unableToConnect": 3, "notAuthorized": 4, "unknown": 255},
    },
    "provision": {
        "configs": [
            {"name": "two hosts and a TLS fingerprint", "config": config, "hex": hx(msg), "chunks": [hx(c) for c in chunks(msg)]},
            {"name": "plain TCP, one host", "config": {"hosts": ["10.0.0.7"], "tcpPort": 5000, "udpPort": 5001, "deviceId": "dk-1", "token": "t0k", "tlsFingerprint": None}, "hex": hx(plain), "chunks": [hx(c) for c in chunks(plain)]},
        ],
        "decodesTo": [
            {"name": "an unknown field is skipped", "hex": hx(message(plain_fields + [(0x7F, b"later")])), "config": {"hosts": ["10.0.0.7"], "tcpPort": 5000, "udpPort": 5001, "deviceId": "dk-1", "token": "t0k", "tlsFingerprint": None}},
        ],
        "malformed": [
            {"name": "bad checksum", "chunks": [hx(c) for c in chunks(bytes(bad_msg))], "error": "checksum"},
            {"name": "truncated: the last chunk lost", "chunks": [hx(c[:1] + b"\x01" + c[2:]) if i == len(chunks(msg)) - 2 else hx(c) for i, c in enumerate(chunks(msg)[:-1])], "error": "truncated"},
            {"name": "oversized: over 512 bytes", "chunks": [hx(c) for c in chunks(big)], "error": "oversized"},
            {"name": "oversized: a 19-byte chunk payload", "chunks": [hx(bytes([0, 1]) + msg[:19])], "error": "oversized"},
            {"name": "unknown version", "chunks": [hx(c) for c in chunks(message(plain_fields, version=2))], "error": "unknown_version"},
            {"name": "out of order: chunk 2 before chunk 1", "chunks": [hx(chunks(msg)[0]), hx(chunks(msg)[2])], "error": "out_of_order"},
            {"name": "missing the token", "chunks": [hx(c) for c in chunks(message(plain_fields[:4]))], "error": "missing_field"},
            {"name": "a port of three bytes", "chunks": [hx(c) for c in chunks(message([(1, b"h"), (2, b"\x00\x13\x88"), (3, b"\x13\x89"), (4, b"d"), (5, b"t")]))], "error": "bad_field"},
            {"name": "a device ID with a slash", "chunks": [hx(c) for c in chunks(message([(1, b"h"), (2, b"\x13\x88"), (3, b"\x13\x89"), (4, b"a/b"), (5, b"t")]))], "error": "bad_field"},
            {"name": "a field runs past the message", "chunks": [hx(c) for c in chunks(raw_message(bytes([1, 9]) + b"ab"))], "error": "truncated"},
        ],
        "status": [
            {"hex": "0000", "state": "idle", "error": "none"},
            {"hex": "0200", "state": "stored", "error": "none"},
            {"hex": "0400", "state": "online", "error": "none"},
            {"hex": "0511", "state": "failed", "error": "relayRefused"},
            {"hex": "0505", "state": "failed", "error": "outOfOrder"},
        ],
    },
}
out = pathlib.Path(__file__).with_name("pairing.json")
out.write_text(json.dumps(vectors, indent=1, ensure_ascii=False) + "\n")
print(f"wrote {out}")
