//! `Proxy`: a loopback TCP proxy a test controls, to play network faults
//! between the binary and a real redis-server without root (no iptables):
//! a silent network (`pause`), a blip (`drop_all`) and a partition
//! (`refuse`). It owns only the bytes in between; the servers come from
//! `redis.rs`.
//!
//! Threads, not tokio: tests call it from plain `#[test]` functions. One
//! thread accepts; each connection has one pump thread per direction. All
//! shared state sits behind one std `Mutex` + `Condvar`, never held across
//! socket I/O, so a slow peer cannot stall the controls.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a control waits for the proxy's threads to obey before failing the test.
const OBEY: Duration = Duration::from_secs(5);

/// A running proxy from `127.0.0.1:port` to `127.0.0.1:upstream`; stopped when dropped.
pub(crate) struct Proxy {
    /// The port clients connect to.
    pub port: u16,
    shared: Arc<Shared>,
    /// The accept thread; joined on drop.
    acceptor: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Signalled on every change of `State`.
    changed: Condvar,
}

/// Written by the controls (`paused`, `accept`, `cut`), the accept thread
/// (`listening`, new `conns`) and the pumps (`writing`, leaving `conns`).
#[derive(Default)]
struct State {
    paused: bool,
    accept: Accept,
    /// Whether the listener is open; `refuse` and `accept_again` wait on it.
    listening: bool,
    /// Pumps past the pause gate, writing; `pause` waits for them so that
    /// nothing is delivered once it returns.
    writing: usize,
    conns: HashMap<u64, Conn>,
    next_id: u64,
}

/// What the accept thread should do with new connections.
#[derive(Default, PartialEq, Eq)]
enum Accept {
    #[default]
    Forward,
    /// A partition: close the listener until `Forward` again.
    Refuse,
    /// The proxy is dropped: close the listener and end.
    Stop,
}

struct Conn {
    /// Clones of the client and upstream sockets, so the controls can cut them.
    sockets: Vec<TcpStream>,
    /// Threads still serving it; the last one out removes it.
    threads: usize,
    cut: bool,
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `upstream_port`.
    pub(crate) fn start(upstream_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let port = listener.local_addr().expect("bound").port();
        let shared = Arc::new(Shared::default());
        shared.lock().listening = true;
        let acceptor = std::thread::spawn({
            let shared = shared.clone();
            move || accept(&shared, listener, port, upstream_port)
        });
        Proxy { port, shared, acceptor: Some(acceptor) }
    }

    /// `redis://127.0.0.1:PORT/0`: the proxy as a broker URL.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// A silent network: from return on, no byte moves either way on any
    /// connection; they stay open and what is sent is held. New connections
    /// are accepted but not forwarded (the upstream never sees them). Waits
    /// for writes already under way, so fails if a peer has stopped reading.
    pub(crate) fn pause(&self) {
        let mut state = self.shared.lock();
        state.paused = true;
        let _held = self.shared.wait(state, "writes in flight to finish", |s| s.writing > 0);
    }

    /// Delivers what `pause` held and carries on.
    pub(crate) fn resume(&self) {
        self.shared.lock().paused = false;
        self.shared.changed.notify_all();
    }

    /// A blip: resets every current connection (both sides see RST, not a
    /// clean close). New connections work as before.
    pub(crate) fn drop_all(&self) {
        let mut state = self.shared.lock();
        let ids: Vec<u64> = state.conns.keys().copied().collect();
        cut(&mut state);
        self.shared.changed.notify_all();
        let _gone =
            self.shared.wait(state, "cut connections to close", |s| ids.iter().any(|id| s.conns.contains_key(id)));
    }

    /// A partition: new connections are refused (the listener closes) and
    /// current ones are reset. Undone by `accept_again`.
    pub(crate) fn refuse(&self) {
        self.shared.lock().accept = Accept::Refuse;
        self.wake_acceptor();
        drop(self.shared.wait(self.shared.lock(), "the listener to close", |s| s.listening));
        self.drop_all();
    }

    /// Ends a partition: listens on the same port again.
    pub(crate) fn accept_again(&self) {
        self.shared.lock().accept = Accept::Forward;
        self.shared.changed.notify_all();
        drop(self.shared.wait(self.shared.lock(), "the listener to reopen", |s| !s.listening));
    }

    /// How many client connections are open through the proxy.
    pub(crate) fn connections(&self) -> usize {
        self.shared.lock().conns.len()
    }

    /// Unblocks the accept thread so it sees a new `accept`.
    fn wake_acceptor(&self) {
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        {
            let mut state = self.shared.lock();
            state.accept = Accept::Stop;
            cut(&mut state);
        }
        self.shared.changed.notify_all();
        self.wake_acceptor();
        // Pumps need no join: their sockets are shut down, so each ends at its next read.
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the proxy from the others.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks the proxy's own threads while `busy` holds: a pause or a partition lasts as long as the test wants.
    fn block_while<'a>(
        &self,
        state: MutexGuard<'a, State>,
        busy: impl FnMut(&mut State) -> bool,
    ) -> MutexGuard<'a, State> {
        self.changed.wait_while(state, busy).unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes a control wait while `busy` holds, failing the test (naming `what`) after `OBEY`.
    fn wait<'a>(
        &self,
        state: MutexGuard<'a, State>,
        what: &str,
        busy: impl FnMut(&mut State) -> bool,
    ) -> MutexGuard<'a, State> {
        let (state, timeout) =
            self.changed.wait_timeout_while(state, OBEY, busy).unwrap_or_else(PoisonError::into_inner);
        assert!(!timeout.timed_out(), "proxy: timed out after {OBEY:?} waiting for {what}");
        state
    }

    /// Blocks while paused; then counts the caller as writing. False if the connection was cut meanwhile.
    fn enter_write(&self, id: u64) -> bool {
        let mut state = self.block_while(self.lock(), |s| s.paused && !is_cut(s, id));
        if is_cut(&state, id) {
            return false;
        }
        state.writing += 1;
        true
    }

    fn leave_write(&self) {
        self.lock().writing -= 1;
        self.changed.notify_all();
    }

    /// A thread of connection `id` is done (its sockets dropped); the last one closes it.
    fn leave(&self, id: u64) {
        let mut state = self.lock();
        let conn = state.conns.get_mut(&id).expect("a connection outlives its threads");
        conn.threads -= 1;
        if conn.threads == 0 {
            state.conns.remove(&id); // drops the last socket clones: a cut one now sends RST
            self.changed.notify_all();
        }
    }
}

fn is_cut(state: &State, id: u64) -> bool {
    state.accept == Accept::Stop || state.conns.get(&id).is_none_or(|c| c.cut)
}

/// Marks every connection cut and wakes its pumps. Linger 0 makes the final
/// close send RST; SHUT_RD wakes a blocked read without sending a FIN.
fn cut(state: &mut State) {
    for conn in state.conns.values_mut() {
        conn.cut = true;
        for socket in &conn.sockets {
            reset_on_close(socket);
            let _ = socket.shutdown(Shutdown::Read);
        }
    }
}

fn reset_on_close(socket: &TcpStream) {
    // std's `set_linger` is unstable; this is SO_LINGER {on, 0 s}.
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid socket fd and a correctly sized, initialised option value.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// The accept thread: serves `listener` until a partition closes it, then
/// binds the same port again when the partition ends; returns on stop.
fn accept(shared: &Arc<Shared>, mut listener: TcpListener, port: u16, upstream: u16) {
    loop {
        for client in listener.incoming() {
            let mut state = shared.lock();
            match state.accept {
                Accept::Forward => {}
                // This is the wake-up connection (or one racing it): close it and the listener.
                Accept::Refuse => break,
                Accept::Stop => return,
            }
            let Ok(client) = client else { continue };
            let Ok(clone) = client.try_clone() else { continue };
            let id = state.next_id;
            state.next_id += 1;
            state.conns.insert(id, Conn { sockets: vec![clone], threads: 1, cut: false });
            let shared = shared.clone();
            std::thread::spawn(move || {
                connect(&shared, id, client, upstream);
                shared.leave(id);
            });
        }
        drop(listener);
        shared.lock().listening = false;
        shared.changed.notify_all();
        if shared.block_while(shared.lock(), |s| s.accept == Accept::Refuse).accept == Accept::Stop {
            return;
        }
        // std sets SO_REUSEADDR, so cut connections in TIME_WAIT do not block
        // the port; another process taking it meanwhile fails accept_again.
        let Ok(again) = TcpListener::bind(("127.0.0.1", port)) else { return };
        listener = again;
        shared.lock().listening = true;
        shared.changed.notify_all();
    }
}

/// One connection: waits out a pause (a silent network never reaches the
/// upstream), dials the upstream, then pumps both ways.
fn connect(shared: &Arc<Shared>, id: u64, client: TcpStream, upstream: u16) {
    drop(shared.block_while(shared.lock(), |s| s.paused && !is_cut(s, id)));
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        reset_on_close(&client); // upstream down: the client sees a reset, as close to "refused" as we can get
        return;
    };
    let (Ok(client_clone), Ok(server_clone), Ok(server_registered)) =
        (client.try_clone(), server.try_clone(), server.try_clone())
    else {
        return;
    };
    {
        let mut state = shared.lock();
        if is_cut(&state, id) {
            reset_on_close(&server);
            return;
        }
        let conn = state.conns.get_mut(&id).expect("registered by the accept thread");
        conn.sockets.push(server_registered);
        conn.threads += 1;
    }
    // Detached: it ends with its socket and reports through `leave`.
    std::thread::spawn({
        let shared = shared.clone();
        move || {
            pump(&shared, id, server_clone, client_clone);
            shared.leave(id);
        }
    });
    pump(shared, id, client, server);
}

/// Copies `from` to `to` until `from` closes or the connection is cut.
fn pump(shared: &Shared, id: u64, mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !shared.enter_write(id) {
            return; // cut while held: the held bytes die with the connection
        }
        let written = to.write_all(&buf[..n]);
        shared.leave_write();
        if written.is_err() {
            break;
        }
    }
    // A peer closed: pass its FIN on, so each direction ends as without the
    // proxy. A cut must not, or the peer would see a clean close before RST.
    if !is_cut(&shared.lock(), id) {
        let _ = to.shutdown(Shutdown::Write);
    }
}
