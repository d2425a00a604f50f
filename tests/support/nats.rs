//! Real NATS servers for the cluster tests: Debian's `nats-server` (2.9)
//! with JetStream, clustered on loopback ports, each with its own store.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

/// A free loopback port (bound and released; good enough for a test).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One server of the cluster.
pub struct NatsServer {
    pub name: String,
    pub port: u16,
    pub monitor: u16,
    cluster_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl NatsServer {
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// GET a monitoring endpoint (`/varz`, `/connz?subs=detail`, …).
    pub async fn monitor(&self, path: &str) -> Value {
        let url = format!("http://127.0.0.1:{}{path}", self.monitor);
        let body = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }
}

/// `n` clustered servers with JetStream.
pub struct NatsCluster {
    pub servers: Vec<NatsServer>,
    name: String,
}

impl NatsCluster {
    pub async fn start(n: usize) -> Self {
        let tag = format!("{}-{}", std::process::id(), free_port());
        let servers: Vec<NatsServer> = (0..n)
            .map(|i| {
                let dir = std::env::temp_dir().join(format!("relaydeck-nats-{tag}-{i}"));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).unwrap();
                NatsServer {
                    name: format!("s{}", i + 1),
                    port: free_port(),
                    monitor: free_port(),
                    cluster_port: free_port(),
                    dir,
                    child: None,
                }
            })
            .collect();
        let mut cluster = Self {
            servers,
            name: format!("rdtest{}", free_port()),
        };
        for i in 0..n {
            cluster.spawn(i);
        }
        cluster.wait_ready().await;
        cluster
    }

    /// Every server's client URL, comma-separated (`--nats`).
    pub fn urls(&self) -> String {
        self.servers
            .iter()
            .map(|s| s.url())
            .collect::<Vec<_>>()
            .join(",")
    }

    fn spawn(&mut self, i: usize) {
        let routes = self
            .servers
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, s)| format!("nats://127.0.0.1:{}", s.cluster_port))
            .collect::<Vec<_>>()
            .join(",");
        let s = &mut self.servers[i];
        let mut cmd = Command::new("nats-server");
        cmd.args(["-a", "127.0.0.1", "-n", &s.name, "-js"])
            .args(["-p", &s.port.to_string(), "-m", &s.monitor.to_string()])
            .args(["-sd", s.dir.to_str().unwrap()]);
        if self.servers.len() > 1 {
            let s = &self.servers[i];
            cmd.args(["--cluster_name", &self.name])
                .args(["--cluster", &format!("nats://127.0.0.1:{}", s.cluster_port)])
                .args(["--routes", &routes]);
        }
        let log = std::fs::File::create(self.servers[i].dir.join("server.log")).unwrap();
        let child = cmd
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("nats-server (apt install nats-server; .ci/setup does)");
        self.servers[i].child = Some(child);
    }

    /// Waits until every running server answers `/healthz` with JetStream ready.
    pub async fn wait_ready(&self) {
        let end = Instant::now() + Duration::from_secs(30);
        for s in self.servers.iter().filter(|s| s.is_running()) {
            loop {
                let url = format!("http://127.0.0.1:{}/healthz", s.monitor);
                let (ok, why) = match reqwest::get(&url).await {
                    Ok(r) => (r.status().is_success(), r.text().await.unwrap_or_default()),
                    Err(e) => (false, e.to_string()),
                };
                if ok {
                    break;
                }
                if Instant::now() > end {
                    let log = std::fs::read_to_string(s.dir.join("server.log")).unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(15).collect();
                    panic!(
                        "nats-server {} not ready: {why}\n{}",
                        s.name,
                        tail.join("\n")
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// SIGKILL: the server is gone without a goodbye.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.servers[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts a killed server again on the same ports and store.
    pub async fn restart(&mut self, i: usize) {
        self.spawn(i);
        self.wait_ready().await;
    }

    /// Starts every killed server again (together: JetStream needs a quorum).
    pub async fn restart_all(&mut self) {
        for i in 0..self.servers.len() {
            if !self.servers[i].is_running() {
                self.spawn(i);
            }
        }
        self.wait_ready().await;
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..self.servers.len() {
            self.kill(i);
            let _ = std::fs::remove_dir_all(&self.servers[i].dir);
        }
    }
}
