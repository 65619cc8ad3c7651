//! Loopback networking inside the sandbox through the real `ward do`:
//! real programs (Python's socket module, busybox nc) talk TCP and UDP
//! over 127.0.0.1 and ::1 wholly inside the sentry and print what they
//! print natively.

mod common;

use std::path::Path;

use common::{describe, run, same_as_native, skip, ward_do};

const PYTHON: &str = "/usr/bin/python3";
const BUSYBOX: &str = "/bin/busybox";

#[test]
fn python_tcp_server_thread_and_client_talk_over_127_0_0_1() {
    let prog = r#"
import socket, threading
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(4)
port = srv.getsockname()[1]
def serve():
    c, peer = srv.accept()
    with c:
        data = b""
        while not data.endswith(b"\n"):
            data += c.recv(64)
        c.sendall(data.upper())
t = threading.Thread(target=serve)
t.start()
cl = socket.create_connection(("127.0.0.1", port))
cl.sendall(b"hello over loopback\n")
got = b""
while True:
    b = cl.recv(64)
    if not b:
        break
    got += b
t.join()
print(got.decode().strip(), cl.getpeername()[0], 32768 <= port <= 60999)
"#;
    same_as_native(&[PYTHON, "-c", prog]);
}

#[test]
fn python_udp_over_ipv6_loopback_reports_the_sender() {
    let prog = r#"
import socket
r = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
r.bind(("::1", 0))
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.sendto(b"datagram", r.getsockname()[:2])
data, frm = r.recvfrom(100)
print(data.decode(), frm[0], frm[1] == s.getsockname()[1], socket.if_nametoindex("lo") > 0)
"#;
    same_as_native(&[PYTHON, "-c", prog]);
}

#[test]
fn busybox_nc_serves_a_client_in_the_same_sandbox() {
    if !Path::new(BUSYBOX).is_file() {
        skip("no /bin/busybox");
        return;
    }
    // The port is the sandbox's own: nothing on the host is touched. The
    // client retries while the server is not yet listening (ECONNREFUSED).
    let script = format!(
        "{BUSYBOX} nc -l -p 4567 -e {BUSYBOX} tr a-z A-Z &\n\
         until echo hi-over-nc | {BUSYBOX} nc 127.0.0.1 4567 2>/dev/null; do :; done\n\
         wait"
    );
    let out = run(&mut ward_do(["/bin/sh", "-c", &script]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "HI-OVER-NC\n",
        "{}",
        describe(&out)
    );
    assert!(out.status.success(), "{}", describe(&out));
}
