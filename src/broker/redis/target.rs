//! Where a Redis broker's connections go: one server, a cluster (the
//! redis crate's cluster client follows MOVED and ASK and refreshes its map
//! of slots after a failover or a resharding), or the master a set of
//! Sentinels names (asked again for each new connection, so a failover is
//! followed as soon as the old connection fails). TLS is set up here for
//! all three, from the URL's `ca`, `cert` and `key` files.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    Cmd, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, Pipeline, RedisConnectionInfo, RedisFuture, RedisResult,
    TlsCertificates, Value,
};
use tokio::sync::Mutex;

use crate::broker::url::{Node, RedisUrl, TlsFiles, Topology};

/// How long a connection attempt may take.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a reply may take: every script is bounded to a few
/// milliseconds of work, so a silent connection is noticed after this.
pub(super) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a connection is made from.
pub(super) enum Target {
    Single(redis::Client),
    /// The cluster client, and a plain client per seed node for the
    /// wake-up subscription (a PUBLISH reaches every node of a cluster).
    Cluster(redis::cluster::ClusterClient, Vec<redis::Client>),
    Sentinel(SentinelTarget),
}

/// Makes a client for a data node at a given address.
pub(super) type NodeClient = Box<dyn Fn(&Node) -> Result<redis::Client, String> + Send + Sync>;

/// A master behind Sentinels.
pub(super) struct SentinelTarget {
    /// Asks the Sentinels for the master.
    pub client: Mutex<SentinelClient>,
    /// The master's name the Sentinels know.
    pub master: String,
    /// One client per Sentinel, to hear each one's failover events.
    pub sentinels: Vec<redis::Client>,
    /// A client for a data node at an address of our choosing, with the
    /// URL's credentials, database and TLS.
    pub node: NodeClient,
    /// Set from a failover's `+promoted-slave` until the Sentinels report the
    /// new master themselves (`+switch-master`).
    pub promoted: std::sync::Mutex<Option<Node>>,
}

/// A connection commands go over.
#[derive(Clone)]
pub(super) enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Target {
    /// Builds the clients; no connection is made yet. The error says what
    /// is wrong with the TLS files.
    pub(super) fn new(url: &RedisUrl) -> Result<Target, String> {
        let certs = url.tls.as_ref().map(certificates).transpose()?;
        let redis = redis_settings(url);
        let client = |node: &Node| -> Result<redis::Client, String> {
            let info = connection_info(node, url.tls.is_some(), redis.clone())?;
            match &certs {
                Some(certs) => redis::Client::build_with_tls(info, certs.clone()),
                None => redis::Client::open(info),
            }
            .map_err(|e| e.to_string())
        };
        Ok(match &url.topology {
            Topology::Single(node) => Target::Single(client(node)?),
            Topology::Cluster(nodes) => {
                let seeds: Vec<ConnectionInfo> = nodes
                    .iter()
                    .map(|n| connection_info(n, url.tls.is_some(), redis.clone()))
                    .collect::<Result<_, _>>()?;
                let mut builder = ClusterClientBuilder::new(seeds)
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(RESPONSE_TIMEOUT);
                if let Some(certs) = &certs {
                    builder = builder.certs(certs.clone());
                }
                let cluster = builder.build().map_err(|e| e.to_string())?;
                Target::Cluster(cluster, nodes.iter().map(client).collect::<Result<_, _>>()?)
            }
            Topology::Sentinel { sentinels, master } => {
                let sentinel_client = |node: &Node| -> Result<redis::Client, String> {
                    let info = connection_info(node, url.tls.is_some(), RedisConnectionInfo::default())?;
                    match &certs {
                        Some(certs) => redis::Client::build_with_tls(info, certs.clone()),
                        None => redis::Client::open(info),
                    }
                    .map_err(|e| e.to_string())
                };
                let each: Vec<redis::Client> = sentinels.iter().map(sentinel_client).collect::<Result<_, _>>()?;
                let (tls, settings, node_certs) = (url.tls.is_some(), redis.clone(), certs.clone());
                let node = Box::new(move |node: &Node| -> Result<redis::Client, String> {
                    let info = connection_info(node, tls, settings.clone())?;
                    match &node_certs {
                        Some(certs) => redis::Client::build_with_tls(info, certs.clone()),
                        None => redis::Client::open(info),
                    }
                    .map_err(|e| e.to_string())
                });
                let addrs = sentinels.iter().map(|n| addr(n, url.tls.is_some()));
                let mut builder =
                    SentinelClientBuilder::new(addrs, master, SentinelServerType::Master).map_err(|e| e.to_string())?;
                builder = builder.set_client_to_redis_db(url.db);
                if let Some(user) = &url.username {
                    builder = builder.set_client_to_redis_username(user);
                }
                if let Some(password) = &url.password {
                    builder = builder.set_client_to_redis_password(password);
                }
                if let Some(certs) = &certs {
                    builder = builder
                        .set_client_to_redis_tls_mode(redis::TlsMode::Secure)
                        .set_client_to_redis_certificates(certs.clone())
                        .set_client_to_sentinel_tls_mode(redis::TlsMode::Secure)
                        .set_client_to_sentinel_certificates(certs.clone());
                }
                Target::Sentinel(SentinelTarget {
                    client: Mutex::new(builder.build().map_err(|e| e.to_string())?),
                    master: master.clone(),
                    sentinels: each,
                    node,
                    promoted: std::sync::Mutex::new(None),
                })
            }
        })
    }

    /// A new connection.
    pub(super) async fn connect(&self) -> RedisResult<Conn> {
        match self {
            Target::Single(client) => Ok(Conn::Single(manager(client).await?)),
            Target::Cluster(cluster, _) => Ok(Conn::Cluster(cluster.get_async_connection().await?)),
            Target::Sentinel(s) => Ok(Conn::Single(manager(&s.master_client().await?).await?)),
        }
    }

    /// A client to subscribe with; `attempt` counts the tries so far, so
    /// that a cluster's seed nodes are tried in turn.
    pub(super) async fn subscriber(&self, attempt: usize) -> RedisResult<redis::Client> {
        match self {
            Target::Single(client) => Ok(client.clone()),
            Target::Cluster(_, seeds) => Ok(seeds[attempt % seeds.len()].clone()),
            Target::Sentinel(s) => s.master_client().await,
        }
    }
}

impl SentinelTarget {
    /// A client for the master: the one a failover promoted, while the
    /// Sentinels do not report it yet, else the one they report.
    async fn master_client(&self) -> RedisResult<redis::Client> {
        let promoted = self.promoted.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        match promoted {
            Some(node) => (self.node)(&node)
                .map_err(|e| redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "client", e))),
            None => self.client.lock().await.async_get_client().await,
        }
    }
}

async fn manager(client: &redis::Client) -> RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_with_config(client.clone(), config).await
}

fn redis_settings(url: &RedisUrl) -> RedisConnectionInfo {
    // The client's `CLIENT SETINFO` on connecting stays, although one
    // `enqueue` pays its round trip: it is what tells a server that is not
    // Redis, or a TLS server that wants a client certificate, at connect
    // time, where the error says so (tests/scale: mistakes, tls).
    let mut settings = RedisConnectionInfo::default().set_db(url.db);
    if let Some(user) = &url.username {
        settings = settings.set_username(user);
    }
    if let Some(password) = &url.password {
        settings = settings.set_password(password);
    }
    settings
}

fn addr(node: &Node, tls: bool) -> ConnectionAddr {
    if tls {
        ConnectionAddr::TcpTls { host: node.host.clone(), port: node.port, insecure: false, tls_params: None }
    } else {
        ConnectionAddr::Tcp(node.host.clone(), node.port)
    }
}

fn connection_info(node: &Node, tls: bool, redis: RedisConnectionInfo) -> Result<ConnectionInfo, String> {
    Ok(addr(node, tls).into_connection_info().map_err(|e| e.to_string())?.set_redis_settings(redis))
}

/// The URL's TLS files, read.
fn certificates(files: &TlsFiles) -> Result<TlsCertificates, String> {
    let read = |what: &str, path: &std::path::Path| {
        std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
    };
    let root_cert = files.ca.as_deref().map(|p| read("CA file (ca=)", p)).transpose()?;
    if let (Some(pem), Some(path)) = (&root_cert, &files.ca)
        && !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----")
    {
        return Err(format!("the CA file (ca=) {} holds no PEM certificate", path.display()));
    }
    let client_tls = match &files.client {
        Some((cert, key)) => Some(redis::ClientTlsConfig {
            client_cert: read("client certificate (cert=)", cert)?,
            client_key: read("client key (key=)", key)?,
        }),
        None => None,
    };
    Ok(TlsCertificates { client_tls, root_cert })
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}
