//! A TCP proxy on loopback that can be told to fail: in front of moto, Prometheus or InfluxDB
//! it makes the dependency stopped (connections refused at once) or hung (accepted, never
//! answered) and back, without losing the real server's state.

use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Pass = 0,
    /// Every connection is closed as soon as it is accepted (what a stopped server looks like
    /// to an HTTP client: the request fails at once).
    Stopped = 1,
    /// Connections are accepted and never answered.
    Hung = 2,
}

pub struct FaultProxy {
    pub url: String,
    mode: watch::Sender<Mode>,
    accepted: Arc<Mutex<Vec<Instant>>>,
}

impl FaultProxy {
    /// Starts a proxy to `target` (`http://host:port`) on the current tokio runtime.
    pub async fn start(target: &str) -> FaultProxy {
        let upstream = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (mode, watching) = watch::channel(Mode::Pass);
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let log = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                log.lock().expect("connection log").push(Instant::now());
                let mut changes = watching.clone();
                let current = *changes.borrow_and_update();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    match current {
                        Mode::Pass => {
                            let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                                return;
                            };
                            // A fault also cuts the connections already open (HTTP clients
                            // keep them alive and would otherwise go around it).
                            tokio::select! {
                                _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                                _ = changes.changed() => {}
                            }
                        }
                        Mode::Stopped => drop(inbound),
                        // Held open, never read, until the fault is lifted.
                        Mode::Hung => {
                            let _ = changes.wait_for(|m| *m == Mode::Pass).await;
                        }
                    }
                });
            }
        });
        FaultProxy {
            url,
            mode,
            accepted,
        }
    }

    /// When each connection was accepted, oldest first: a client's attempts, each a new
    /// connection while the dependency hangs.
    pub fn accepted(&self) -> Vec<Instant> {
        self.accepted.lock().expect("connection log").clone()
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}
