#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A stand-in for the service manager's notify socket, for tests: binds a
Unix datagram socket (a path, or @NAME for an abstract one) and appends
each datagram to a file as one line, its fields separated by tabs."""
import os
import socket
import sys


def main():
    addr, out, pid = sys.argv[1:4]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if addr.startswith("@"):
        s.bind("\0" + addr[1:])
    else:
        if os.path.exists(addr):
            os.unlink(addr)
        s.bind(addr)
    with open(pid, "w") as f:
        f.write("%d\n" % os.getpid())
    while True:
        d = s.recv(1 << 16)
        with open(out, "ab") as f:
            f.write(d.rstrip(b"\n").replace(b"\n", b"\t") + b"\n")


if __name__ == "__main__":
    sys.exit(main())
