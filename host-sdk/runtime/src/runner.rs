//! The plugin runner's side of isolation: one plugin library loaded in a process of its
//! own, serving the runtime's protocol on its standard input and output, one JSON
//! object per line. The host sends `{"type":"request","seq":N,"generation":G,"request":{…}}`
//! (`G`: its store's generation then, see [`SentGeneration`]) and gets
//! `{"type":"answer","seq":N,"answer":{…}}`; the plugin's host services go the other
//! way as service calls, `{"type":"call","seq":M,"call":{…}}` answered by
//! `{"type":"reply","seq":M,"ok":true|false,"reply":{…}}`. Requests are answered on
//! threads of their own (reused from one request to the next), so a long poll never
//! holds up another request or a reply.
//! The runner ends when its input ends (the host closed it or died).

use std::{
    collections::HashMap,
    io::{BufRead, Write},
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc, Mutex,
    },
};

use serde_json::{json, Value};

use crate::{
    reused_threads::ReusedThreads,
    runtime::{OpenError, Runtime, RuntimeOptions},
    service_calls::{hooks_over, Caller, Refusal, SentGeneration},
};

type Output = Arc<Mutex<Box<dyn Write + Send>>>;

/// Writes one line, whole; a host that went away is noticed by the input ending.
fn send(output: &Output, line: &Value) {
    let mut out = output.lock().unwrap_or_else(|p| p.into_inner());
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

type Pending = Arc<Mutex<HashMap<u64, mpsc::SyncSender<Result<Value, Refusal>>>>>;

fn pending_of(
    pending: &Pending,
) -> std::sync::MutexGuard<'_, HashMap<u64, mpsc::SyncSender<Result<Value, Refusal>>>> {
    pending.lock().unwrap_or_else(|p| p.into_inner())
}

/// Service calls to the host, over the output; replies come back through `pending`.
fn caller(output: Output, pending: Pending) -> Caller {
    let next = Arc::new(AtomicU64::new(1));
    Arc::new(move |call: Value| {
        let seq = next.fetch_add(1, Ordering::Relaxed);
        let (reply, replied) = mpsc::sync_channel(1);
        pending_of(&pending).insert(seq, reply);
        send(&output, &json!({"type": "call", "seq": seq, "call": call}));
        replied
            .recv()
            .unwrap_or_else(|_| Err(Refusal::new("the host closed the plugin's connection")))
    })
}

/// Where requests go once the runtime is open: each is answered on a reused thread.
struct Dispatch {
    runtime: Arc<Runtime>,
    threads: ReusedThreads,
    output: Output,
}

impl Dispatch {
    fn answer(&self, seq: u64, request: Value) {
        let (runtime, output) = (self.runtime.clone(), self.output.clone());
        // When no thread can be started, the host's bound on the request tells it so.
        let _ = self.threads.run(Box::new(move |release| {
            let answer = runtime.handle_value(request);
            drop(runtime);
            release();
            send(
                &output,
                &json!({"type": "answer", "seq": seq, "answer": answer}),
            );
        }));
    }
}

type Ready = Arc<Mutex<Option<Arc<Dispatch>>>>;

/// Serves the plugin `library` until `input` ends.
pub fn serve(
    library: PathBuf,
    mut options: RuntimeOptions,
    input: impl BufRead + Send + 'static,
    output: impl Write + Send + 'static,
) -> Result<(), OpenError> {
    let output: Output = Arc::new(Mutex::new(Box::new(output)));
    let pending: Pending = Arc::default();
    // Replies are routed as they come, even while the runtime opens (opening already
    // makes service calls). Requests that come before it is open wait in `early`;
    // after, the input thread hands each to a request thread itself (one thread fewer
    // to wake on the way).
    let (early_tx, early) = mpsc::channel::<(u64, Value)>();
    let ready: Ready = Arc::default();
    let dispatch_to = ready.clone();
    let routes = pending.clone();
    let sent = Arc::new(SentGeneration::default());
    let store_sent = sent.clone();
    let reader = std::thread::Builder::new()
        .name("atrs-runner-input".into())
        .spawn(move || {
            let mut early_tx = Some(early_tx);
            for line in input.lines() {
                let Ok(line) = line else { break };
                let Ok(message) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let seq = message["seq"].as_u64().unwrap_or(0);
                match message["type"].as_str() {
                    Some("request") => {
                        if let Some(generation) = message["generation"].as_u64() {
                            sent.sent(generation);
                        }
                        let request = match message {
                            Value::Object(mut fields) => {
                                fields.remove("request").unwrap_or(Value::Null)
                            }
                            _ => Value::Null,
                        };
                        let dispatch = dispatch_to
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .clone();
                        match dispatch {
                            Some(dispatch) => {
                                // Open: whatever came early is with the main thread.
                                early_tx = None;
                                dispatch.answer(seq, request);
                            }
                            None => {
                                let queued = early_tx.as_ref().map(|tx| tx.send((seq, request)));
                                if !matches!(queued, Some(Ok(()))) {
                                    break;
                                }
                            }
                        }
                    }
                    Some("reply") => {
                        if let Some(waiting) = pending_of(&routes).remove(&seq) {
                            let reply = &message["reply"];
                            let result = if message["ok"] == true {
                                Ok(reply.clone())
                            } else {
                                Err(Refusal::from_reply(reply, || "the host refused".to_owned()))
                            };
                            let _ = waiting.send(result);
                        }
                    }
                    _ => {}
                }
            }
            // The host is gone: every call waiting for it fails, and serving ends.
            pending_of(&routes).clear();
        })
        .expect("a thread for the runner's input");
    options.library = Some(library);
    let runtime = Arc::new(Runtime::open(
        options,
        hooks_over(caller(output.clone(), pending.clone()), Some(store_sent)),
    )?);
    let dispatch = Arc::new(Dispatch {
        runtime: runtime.clone(),
        threads: ReusedThreads::new("atrs-runner-request"),
        output,
    });
    *ready.lock().unwrap_or_else(|p| p.into_inner()) = Some(dispatch.clone());
    // Until the input thread sees the runtime open (or the input ends).
    for (seq, request) in early {
        dispatch.answer(seq, request);
    }
    let _ = reader.join();
    ready.lock().unwrap_or_else(|p| p.into_inner()).take();
    drop(dispatch);
    if let Ok(runtime) = Arc::try_unwrap(runtime) {
        runtime.close();
    }
    Ok(())
}
