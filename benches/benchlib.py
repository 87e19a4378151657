"""Shared helpers for the Python benchmark scripts (benches/peers/run,
benches/curves/run): private redis-server, Redis Cluster and nginx
processes on free loopback ports, a tiny RESP client, the machine's own
limits, process-tree RSS, taskq's environment, and the scratch venv.

Standard library only: the scripts import it before any venv exists.
"""

import hashlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, pred, timeout=20.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if pred():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def median(xs):
    return statistics.median(xs)


def p90(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]


# --- a tiny RESP client, for polling counters without a process per look ---

class Resp:
    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise OSError("redis closed the connection")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError(f"unexpected RESP reply {line!r}")

    def __call__(self, *args):
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(parts))
        return self._read()


# --- processes we start, and stop again ---

class Proc:
    """A child process started in its own process group, so that stopping
    it stops whatever it started too (nginx workers, pool children)."""

    def __init__(self, args, cwd=None, env=None, stdout=None, stderr=None, name=None):
        self.name = name or os.path.basename(args[0])
        self.args = args
        self.p = subprocess.Popen(args, cwd=cwd, env=env, stdout=stdout or subprocess.DEVNULL,
                                  stderr=stderr or subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                  start_new_session=True)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.p.poll() is not None:
            return self.p.returncode
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return self.p.wait(5)


def stop_on_signals():
    """SIGTERM and SIGHUP end the run as Ctrl-C does, so that everything it
    started is stopped: each service runs in its own session, and would
    outlive a script killed without its cleanup."""
    def end(signum, _frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, end)


class Services:
    """Everything started for a run, stopped in reverse order on exit
    (normal, exception, Ctrl-C, or SIGTERM/SIGHUP after stop_on_signals)."""

    def __init__(self):
        self.procs = []

    def add(self, proc):
        self.procs.append(proc)
        return proc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for proc in reversed(self.procs):
            try:
                proc.stop()
            except Exception as e:  # keep stopping the others
                log(f"stopping {proc.name}: {e}")
        self.procs.clear()
        return False


def start_redis(services, workdir, extra=()):
    """A private redis-server on a free loopback port, no persistence.
    Returns (port, url)."""
    os.makedirs(workdir, exist_ok=True)
    port = free_port()
    services.add(Proc(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                       "--appendonly", "no", "--dir", workdir, "--logfile", "redis.log", *extra],
                      cwd=workdir, name=f"redis-server:{port}"))
    wait_until("redis-server", lambda: _pong(port))
    return port, f"redis://127.0.0.1:{port}/0"


def _pong(port):
    r = Resp(port)
    try:
        return r("PING") == "PONG"
    finally:
        r.close()


def start_cluster(services, workdir, masters=3):
    """A Redis Cluster of `masters` masters and no replicas, each node in
    its own directory; returns (ports, 'redis+cluster://...' URL) once
    every node says cluster_state:ok."""
    ports = []
    for i in range(masters):
        d = os.path.join(workdir, f"node{i}")
        os.makedirs(d, exist_ok=True)
        port, bus = free_port(), free_port()
        while bus == port:
            bus = free_port()
        services.add(Proc(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no", "--dir", d, "--logfile", "redis.log",
                           "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                           "--cluster-port", str(bus), "--cluster-node-timeout", "5000"],
                          cwd=d, name=f"redis-cluster:{port}"))
        ports.append(port)
    for port in ports:
        wait_until(f"cluster node {port}", lambda port=port: _pong(port))
    out = subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                          "--cluster-replicas", "0", "--cluster-yes"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"redis-cli --cluster create failed:\n{out.stdout}\n{out.stderr}")

    def ok():
        for port in ports:
            r = Resp(port)
            try:
                info = r("CLUSTER", "INFO")
            finally:
                r.close()
            if "cluster_state:ok" not in info or "cluster_slots_ok:16384" not in info:
                return False
        return True

    wait_until("cluster_state:ok on every node", ok, timeout=60, interval=0.2)
    return ports, "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports) + "/"


NGINX_CONF = """\
# Private nginx for the benchmarks: the HTTP target every tool calls.
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
{user}
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location /ok {{ default_type text/plain; return 200 "ok"; }}
    }}
}}
"""


def start_nginx(services, workdir):
    """A private nginx (one worker, no access log) answering 200 "ok" on
    /ok. Returns (port, url of /ok)."""
    os.makedirs(workdir, exist_ok=True)
    port = free_port()
    conf = os.path.join(workdir, "nginx.conf")
    user = "user root root;" if os.geteuid() == 0 else ""
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=workdir, port=port, user=user))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    services.add(Proc([nginx, "-p", workdir, "-c", conf, "-e", os.path.join(workdir, "error.log")],
                      cwd=workdir, name=f"nginx:{port}"))
    url = f"http://127.0.0.1:{port}/ok"

    def up():
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"GET /ok HTTP/1.0\r\n\r\n")
            return b" 200 " in s.recv(256)

    wait_until("nginx", up)
    return port, url


# --- the machine's own limits ---

def xargs_rate(parallel, lines):
    """`xargs -P N -n 1 true` over `lines` lines: processes/s."""
    data = ("x\n" * lines).encode()
    t = time.perf_counter()
    subprocess.run(["xargs", "-P", str(parallel), "-n", "1", "true"], input=data, check=True)
    return lines / (time.perf_counter() - t)


def redis_benchmark(port, n=100000, tests="set,lpush,rpop,ping"):
    """`redis-benchmark -q` against our Redis: {TEST: requests/s}."""
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "-n", str(n),
                          "-t", tests], capture_output=True, text=True, check=True).stdout
    res = {}
    for line in out.replace("\r", "\n").splitlines():
        m = re.match(r"^([A-Z_]+)(?: \(.*?\))?: ([\d.]+) requests per second", line.strip())
        if m:
            res[m.group(1)] = float(m.group(2))
    return res


def spawn_ms(args, n, **kw):
    """Times n whole-process runs of args, spawn to exit: list of ms."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, **kw)
        times.append((time.perf_counter() - t) * 1000)
    return times


def redis_cli_ping_ms(port, n=50):
    return spawn_ms(["redis-cli", "-p", str(port), "PING"], n)


def wrk(url, seconds=5, connections=64, threads=1):
    """wrk's requests/s against url, or None when wrk is missing."""
    exe = shutil.which("wrk")
    if not exe:
        return None
    out = subprocess.run([exe, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", url],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else None


def have_wrk():
    """Whether wrk is on PATH; says once what its absence costs. Nothing
    is installed on the machine's behalf."""
    if shutil.which("wrk"):
        return True
    log("wrk is not on PATH: the HTTP target's own limit is not measured (apt-get install wrk)")
    return False


# --- process trees and their memory ---

def children_of():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(pid):
    kids = children_of()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _proc_kib(path, field):
    """A "Field:  N kB" line of a /proc file, in KiB (0 if gone)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pid):
    return _proc_kib(f"/proc/{pid}/status", "VmRSS:")


def pss_kib(pid):
    return _proc_kib(f"/proc/{pid}/smaps_rollup", "Pss:")


def tree_rss_mib(pid):
    """(sum of VmRSS, sum of PSS, number of processes) over pid and all its
    descendants, MiB. The RSS sum counts a page shared by several processes
    (a forked child's, the binary's own) once per process; PSS divides it
    among them, so the PSS sum is what the tree costs the machine."""
    pids = tree(pid)
    return sum(rss_kib(p) for p in pids) / 1024, sum(pss_kib(p) for p in pids) / 1024, len(pids)


# --- taskq ---

def taskq_env(broker, namespace):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQ_")}
    env.update(TASKQ_BROKER=broker, TASKQ_NAMESPACE=namespace, NO_COLOR="1")
    return env


def find_taskq(given):
    """The taskq binary to measure: --taskq, else the repo's own release
    build, made (or brought up to date) here by `cargo build --release`."""
    if given:
        if os.path.isfile(given) and os.access(given, os.X_OK):
            return os.path.abspath(given)
        sys.exit(f"--taskq {given}: not an executable file")
    if not shutil.which("cargo"):
        sys.exit("cargo is not on PATH: install Rust (https://rustup.rs) to build taskq, or pass --taskq PATH")
    print("building taskq (cargo build --release; link-time optimised: some minutes the first time)",
          file=sys.stderr, flush=True)
    built = subprocess.run(["cargo", "build", "--release", "--locked"], cwd=REPO)
    path = os.path.join(REPO, "target", "release", "taskq")
    if built.returncode != 0 or not os.access(path, os.X_OK):
        sys.exit("cargo build --release failed: fix the build, or pass --taskq PATH")
    return path


def taskq_version(binary):
    r = subprocess.run([binary, "--version"], capture_output=True, text=True)
    return r.stdout.strip() or "?"


def taskq_inspect(binary, cwd, env):
    import json
    r = subprocess.run([binary, "inspect", "--json"], cwd=cwd, env=env, capture_output=True, text=True,
                       check=True)
    return json.loads(r.stdout)


def taskq_counts(binary, cwd, env):
    """(ready jobs over all queues, {job name: succeeded}, {job name: failed})
    from `taskq inspect --json` (succeeded/failed over the last hour)."""
    doc = taskq_inspect(binary, cwd, env)
    ready = sum(q.get("ready", 0) for q in doc.get("queues", []))
    ok = {j["name"]: j["last_hour"]["succeeded"] for j in doc.get("jobs", [])}
    bad = {j["name"]: j["last_hour"]["failed"] for j in doc.get("jobs", [])}
    return ready, ok, bad


# --- the scratch venv shared by benches/peers and benches/curves ---

def ensure_venv(scratch, requirements):
    """A venv in SCRATCH/venv with each requirements file installed; a file
    is installed again only when its content changed (a stamp per file, so
    benches/peers and benches/curves can share the venv). Returns its
    python."""
    venv = os.path.join(scratch, "venv")
    py = os.path.join(venv, "bin", "python")
    todo = []
    for req in requirements:
        with open(req, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        base = os.path.basename(os.path.dirname(req)) + "-" + os.path.basename(req)
        stamp = os.path.join(venv, f".installed-{base}-{digest}")
        if not os.path.exists(stamp):
            todo.append((req, base, stamp))
    if not todo:
        return py
    if not os.path.exists(py):
        if subprocess.run([sys.executable, "-c", "import venv, ensurepip"], capture_output=True).returncode:
            raise RuntimeError(f"{sys.executable} cannot make a venv (Debian: apt-get install python3-venv)")
        log(f"creating the venv {venv}")
        r = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
        if r.returncode:
            shutil.rmtree(venv, ignore_errors=True)  # half a venv would be taken for one next time
            raise RuntimeError(f"python3 -m venv failed: {(r.stderr or r.stdout).strip()[-300:]}")
    for req, base, stamp in todo:
        log(f"pip install -r {os.path.relpath(req, REPO)} (into {venv})")
        r = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", req])
        if r.returncode:
            raise RuntimeError(f"pip install -r {os.path.relpath(req, REPO)} failed (exit {r.returncode}): "
                               "its output is above")
        for old in os.listdir(venv):
            if old.startswith(f".installed-{base}-"):
                os.remove(os.path.join(venv, old))
        open(stamp, "w").close()
    return py


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
