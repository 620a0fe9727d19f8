"""SOCKS5 BIND behind listen/accept (issue 11; docs/bind.md): a program behind the proxy accepts
the connection the far side opens back. Active-mode FTP with curl -P - through danted to vsftpd,
and a small PORT-style protocol of the test's own for blocking and non-blocking accept.

Run:  python3 -m pytest IntegrationTests/test_bind.py -q
"""

import socket
import threading

import pytest

from conftest import DANTED_OUT, PROJECT_OUT, PYTHON, Vsftpd


def test_active_ftp_through_danted(socksify, danted, vsftpd):
    r = socksify.run(["curl", "-s", "-S", "--max-time", "10", "-P", "-", vsftpd.url()], proxy=danted.url(), verbose=True)
    assert r.returncode == 0 and r.stdout == Vsftpd.CONTENT, r
    assert "(BIND for 127.0.0.1:%d) via socks5 127.0.0.1:%d: the far side connects to %s:" % (vsftpd.port, danted.port, DANTED_OUT) in r.stderr, r
    assert "accept on %s:" % DANTED_OUT in r.stderr, r
    # the server was told the proxy's address, and its data connection went there
    log = vsftpd.log_text()
    assert "EPRT |1|%s|" % DANTED_OUT in log or "PORT 127,0,0,3," in log, log[-2000:]
    assert "226 Transfer complete" in log, log[-2000:]


def test_active_ftp_without_socksify_is_direct(vsftpd):
    """The control: without socksify curl announces its own address."""
    from conftest import run
    r = run(["curl", "-s", "-S", "--max-time", "10", "-P", "-", vsftpd.url()])
    assert r.returncode == 0 and r.stdout == Vsftpd.CONTENT, r
    assert "EPRT |1|127.0.0.1|" in vsftpd.log_text()


def test_getsockname_of_a_tunnel_is_where_the_proxy_connects_from(socksify, danted, target):
    code = ("import socket; s = socket.create_connection(('127.0.0.1', %d), timeout=5); "
            "print(s.getsockname()[0]); s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); print(s.recv(4096).decode().splitlines()[-1])"
            % target.port)
    r = socksify.run([PYTHON, "-c", code], proxy=danted.url())
    assert r.returncode == 0 and r.stdout == "%s\npeer %s\n" % (DANTED_OUT, DANTED_OUT), r


@pytest.fixture
def far_side():
    """A server that, told 'PORT host port' on its control connection, connects there and
    sends 'DATA\\n': what an active-mode FTP server does."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    seen = []

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            line = c.makefile().readline().split()
            if len(line) < 3:  # the client failed before it sent PORT
                c.close()
                continue
            seen.append(line)
            try:
                d = socket.create_connection((line[1], int(line[2])), timeout=5)
                d.sendall(b"DATA\n")
                d.close()
                c.sendall(b"OK\n")
            except OSError as e:
                c.sendall(b"FAIL %s\n" % str(e).encode())
            c.close()

    threading.Thread(target=serve, daemon=True).start()
    yield ls.getsockname()[1], seen
    ls.close()


CLIENT = """
import select, socket, sys
control = socket.create_connection(("127.0.0.1", %d), timeout=10)
host = control.getsockname()[0]                 # where the proxy connects from
data = socket.socket()
data.bind((host, 0))
port = data.getsockname()[1]
data.listen(1)
control.sendall(("PORT %%s %%d\\n" %% data.getsockname()).encode())
if sys.argv[1] == "nonblocking":
    data.setblocking(False)
    try:
        data.accept()
        print("accept did not wait")
    except BlockingIOError:
        pass
    select.select([data], [], [], 10)
conn, peer = data.accept()
conn.setblocking(True)
print(conn.recv(100).decode().strip(), peer[0], conn.getpeername()[0])
print(control.recv(100).decode().strip())
"""


@pytest.mark.parametrize("mode", ["blocking", "nonblocking"])
def test_accept_through_a_bind(socksify, danted, far_side, mode):
    port, seen = far_side
    r = socksify.run([PYTHON, "-c", CLIENT % port, mode], proxy=danted.url(), verbose=True)
    assert r.returncode == 0, r
    out = r.stdout.splitlines()
    # the far side's connection arrived through danted (it connected to danted's address)
    assert seen and seen[0][1] == DANTED_OUT, (seen, r)
    assert out[0].split()[0] == "DATA" and out[-1] == "OK", r
    assert "accept did not wait" not in r.stdout, r


def test_a_server_socket_keeps_listening_locally(socksify, danted):
    code = ("import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1); "
            "c = socket.create_connection(s.getsockname()); a, _ = s.accept(); c.sendall(b'local'); print(a.recv(5).decode())")
    r = socksify.run([PYTHON, "-c", code], proxy=danted.url(), verbose=True)
    assert r.returncode == 0 and r.stdout == "local\n", r
    assert "BIND" not in r.stderr, r


def test_a_proxy_that_refuses_bind_is_a_clear_error(socksify, socks_server, far_side):
    """The project's test server has no BIND: the program's getsockname fails with the reason."""
    port, seen = far_side
    proxy = socks_server()
    r = socksify.run([PYTHON, "-c", CLIENT % port, "blocking"], proxy=proxy.url())
    assert r.returncode != 0, r
    assert "(BIND for 127.0.0.1:%d) via socks5" % port in r.stderr and "failed: proxy refused" in r.stderr, r
    assert PROJECT_OUT in r.stderr, r
