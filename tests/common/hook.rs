//! A webhook receiver: collects the JSON bodies POSTed to it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::Value;
use tokio::sync::Notify;

#[derive(Default)]
struct Received {
    bodies: Mutex<Vec<Value>>,
    notify: Notify,
}

/// A running receiver on an ephemeral loopback port.
pub struct Hook {
    /// The URL to POST to.
    pub url: String,
    received: Arc<Received>,
}

impl Hook {
    /// Starts the receiver on its own thread.
    pub fn start() -> Hook {
        let received = Arc::new(Received::default());
        let shared = received.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let r = shared.clone();
                    App::new().route(
                        "/hook",
                        web::post().to(move |body: web::Json<Value>| {
                            let r = r.clone();
                            async move {
                                r.bodies.lock().unwrap().push(body.into_inner());
                                r.notify.notify_waiters();
                                HttpResponse::Ok().finish()
                            }
                        }),
                    )
                })
                .workers(1)
                .bind("127.0.0.1:0")
                .unwrap();
                tx.send(server.addrs()[0]).unwrap();
                let _ = server.run().await;
            });
        });
        let addr = rx.recv().unwrap();
        Hook {
            url: format!("http://{addr}/hook"),
            received,
        }
    }

    /// The bodies received so far.
    pub fn bodies(&self) -> Vec<Value> {
        self.received.bodies.lock().unwrap().clone()
    }

    /// Waits (bounded) until a body satisfies `pred`.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let waiting = async {
            loop {
                let notified = self.received.notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(v) = self.bodies().into_iter().find(|b| pred(b)) {
                    return v;
                }
                notified.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .unwrap_or_else(|_| panic!("the webhook never received {what}: {:?}", self.bodies()))
    }
}
