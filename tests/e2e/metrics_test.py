#!/usr/bin/env python3
"""The metrics endpoint under attack and behind --web-config, in a private
network namespace (run.sh's ns_case): TLS scrapes with a password, 401 for a
wrong one, two pipelined requests answered, and scrapes still answered while
1,000 connections trickle their headers a byte a second.

Usage: metrics_test.py SYNFIN. Prints one line per check; exits 1 on a failure.
"""
import ctypes
import socket
import subprocess
import sys
import tempfile
import time

from sflib import check, finish

SYNFIN = sys.argv[1]


def start_watch(port, *extra):
    proc = subprocess.Popen([SYNFIN, "watch", "--metrics", f"127.0.0.1:{port}", "--interval",
                             "1", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    check(False, f"watch serves port {port}: {proc.stderr.read().decode().strip()}")
    return None


def stop(proc):
    proc.terminate()
    proc.wait(10)


def curl(url, *args, max_time=3):
    """The HTTP status curl got (000 for none) and how long it took."""
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                          "--max-time", str(max_time), *args, url],
                         capture_output=True, text=True).stdout.split()
    return out[0], float(out[1])


def tls_files(folder):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", f"{folder}/key.pem", "-out", f"{folder}/cert.pem"],
                   check=True, capture_output=True)
    # $2y$, as htpasswd -B writes it (the exporter toolkit's documented form), by libcrypt
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt_gensalt.restype = lib.crypt.restype = ctypes.c_char_p
    salt = lib.crypt_gensalt(b"$2y$", 10, None, 0)
    hashed = lib.crypt(b"s3cret", salt).decode()
    with open(f"{folder}/web.yml", "w") as f:
        # relative file names are read from the configuration's folder
        f.write("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
                f"basic_auth_users:\n  prometheus: {hashed}\n")


def test_tls(folder):
    tls_files(folder)
    watch = start_watch(9611, "--web-config", f"{folder}/web.yml")
    if not watch:
        return
    url, ca = "https://127.0.0.1:9611/metrics", ["--cacert", f"{folder}/cert.pem"]
    code, _ = curl(url, *ca, "-u", "prometheus:s3cret")
    check(code == "200", f"a TLS scrape with the password gets 200 (got {code})")
    for _ in range(30):  # the first metrics come with watch's first frame
        body = subprocess.run(["curl", "-s", *ca, "-u", "prometheus:s3cret", url],
                              capture_output=True, text=True).stdout
        if "synfin_sockets" in body:
            break
        time.sleep(0.1)
    check("synfin_sockets" in body, "the TLS scrape carries the metrics")
    for who, args in (("a wrong password", ["-u", "prometheus:wrong"]),
                      ("an unknown user", ["-u", "nobody:s3cret"]), ("no password", [])):
        code, _ = curl(url, *ca, *args)
        check(code == "401", f"{who} gets 401 (got {code})")
    code, _ = curl("http://127.0.0.1:9611/metrics", "-u", "prometheus:s3cret")
    check(code == "000", f"plain HTTP gets no answer from the TLS endpoint (got {code})")
    stop(watch)


def test_bad_configs(folder):
    """Each refused at start in one line naming the file and what is wrong: exit 2."""
    cases = {
        "client_ca_file is not supported":
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"
            "  client_ca_file: ca.pem\n",
        "tls_server_config needs key_file": "tls_server_config:\n  cert_file: cert.pem\n",
        "not a bcrypt hash": "basic_auth_users:\n  prometheus: s3cret\n",
        "the key is not the certificate's": "tls_server_config:\n  cert_file: cert.pem\n"
                                            "  key_file: other.pem\n",
        "http_server_config is not supported": "http_server_config:\n  http2: true\n",
        "did not find expected": "basic_auth_users: [a\n",
        "bad.yml: larger than 64 KiB": "#" * 70000 + "\n",
    }
    subprocess.run(["openssl", "genpkey", "-algorithm", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-out", f"{folder}/other.pem"],
                   check=True, capture_output=True)
    for want, text in cases.items():
        with open(f"{folder}/bad.yml", "w") as f:
            f.write(text)
        r = subprocess.run([SYNFIN, "watch", "--metrics", "127.0.0.1:9615", "--web-config",
                            f"{folder}/bad.yml", "--once"], capture_output=True, text=True)
        check(r.returncode == 2 and want in r.stderr and r.stderr.count("\n") == 1,
              f"--web-config refused: {want} (exit {r.returncode}: {r.stderr.strip()})")


def responses(sock, want, timeout=3):
    sock.settimeout(timeout)
    data, deadline = b"", time.time() + timeout
    while data.count(b"HTTP/1.1 200") < want and time.time() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data.count(b"HTTP/1.1 200")


def test_pipelined():
    watch = start_watch(9612)
    if not watch:
        return
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", 9612)) as s:
        s.sendall(req + req)
        n = responses(s, 2)
    check(n == 2, f"two pipelined keep-alive requests get two responses (got {n})")
    stop(watch)


def trickle_open(n, port, spread=100):
    """n connections from 127.0.0.2 on (spread addresses), each with a request line
    and no end of headers: [socket, ended at (None while open)]."""
    socks = []
    for i in range(n):
        s = socket.socket()
        s.settimeout(2)
        try:
            s.bind((f"127.0.0.{2 + i % spread}", 0))
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
            s.setblocking(False)
            socks.append([s, None])
        except OSError:
            socks.append([s, time.time()])
    return socks


def trickle_step(socks):
    """A byte on each trickling connection the server has not ended yet."""
    for entry in socks:
        if entry[1]:
            continue
        try:
            if entry[0].recv(1) == b"":
                entry[1] = time.time()
                continue
        except BlockingIOError:
            pass
        except OSError:
            entry[1] = time.time()
            continue
        try:
            entry[0].send(b"a")
        except BlockingIOError:
            pass
        except OSError:
            entry[1] = time.time()


def test_slowloris():
    watch = start_watch(9613)
    if not watch:
        return
    socks = trickle_open(1000, 9613)
    answered = scrapes = peak = 0
    slow, start = [], time.time()
    while time.time() - start < 15:
        trickle_step(socks)
        if time.time() - start > 2:  # the listen backlog emptied: every one accepted or not
            peak = max(peak, sum(1 for s in socks if s[1] is None))
        code, took = curl("http://127.0.0.1:9613/metrics")
        scrapes += 1
        answered += code == "200"
        if code != "200" or took > 2:
            slow.append((round(time.time() - start, 1), code, round(took, 2)))
        time.sleep(0.5)
    check(answered == scrapes and not slow,
          f"{answered} of {scrapes} scrapes answered within 2 s under 1,000 trickling "
          f"connections (failed or slow: {slow})")
    check(peak <= 128, f"at most 128 trickling connections held at once (at most {peak})")
    for s in socks:
        s[0].close()
    stop(watch)


def test_one_client():
    """One address holds at most 16 connections; one that trickles is ended by 10 s."""
    watch = start_watch(9614)
    if not watch:
        return
    socks = trickle_open(40, 9614, spread=1)
    time.sleep(1)
    trickle_step(socks)
    open_now = sum(1 for s in socks if s[1] is None)
    check(open_now <= 16, f"one address holds at most 16 connections ({open_now} of 40)")
    start = time.time()
    while time.time() - start < 13 and any(s[1] is None for s in socks):
        trickle_step(socks)
        time.sleep(1)
    left = sum(1 for s in socks if s[1] is None)
    check(left == 0, f"headers trickled a byte a second are cut within 10 s ({left} left)")
    for s in socks:
        s[0].close()
    stop(watch)


with tempfile.TemporaryDirectory() as tmp:
    test_tls(tmp)
    test_bad_configs(tmp)
test_pipelined()
test_one_client()
test_slowloris()
finish("metrics_test")
