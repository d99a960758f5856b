//! The plugin runner's side of isolation: one plugin library loaded in a process of its
//! own, serving the runtime's protocol on its standard input and output, one JSON
//! object per line. The host sends `{"type":"request","seq":N,"generation":G,"request":{…}}`
//! (`G`: its store's generation then, see [`SentGeneration`]) and gets
//! `{"type":"answer","seq":N,"answer":{…}}`; the plugin's host services go the other
//! way as service calls, `{"type":"call","seq":M,"call":{…}}` answered by
//! `{"type":"reply","seq":M,"ok":true|false,"reply":{…}}`. Each request is answered by
//! the thread that read it, after passing the input on to another, so a long poll
//! never holds up another request or a reply.
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
    leader_follower::{self, Read},
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

/// A request to answer, with the runtime to answer it.
struct Job {
    seq: u64,
    request: Value,
    runtime: Arc<Runtime>,
}

/// Answers `job` on this thread and sends the answer.
fn answer(job: Job, output: &Output, release: &mut dyn FnMut()) {
    let Job {
        seq,
        request,
        runtime,
    } = job;
    let answer = runtime.handle_value(request);
    drop(runtime);
    release();
    send(
        output,
        &json!({"type": "answer", "seq": seq, "answer": answer}),
    );
}

/// The runtime once open; until then, requests wait in `early`.
type Ready = Arc<Mutex<Option<Arc<Runtime>>>>;

fn ready_of(ready: &Ready) -> std::sync::MutexGuard<'_, Option<Arc<Runtime>>> {
    ready.lock().unwrap_or_else(|p| p.into_inner())
}

/// The host's messages, and where each goes.
struct Input<B> {
    lines: std::io::Lines<B>,
    ready: Ready,
    /// Requests that came before the runtime was open, for the main thread.
    early: Option<mpsc::Sender<(u64, Value)>>,
    pending: Pending,
    sent: Arc<SentGeneration>,
}

/// Reads the next message: a reply is routed to the call waiting for it, a request
/// becomes a job (or waits in `early`).
fn read<B: BufRead>(input: &mut Input<B>) -> Read<Job> {
    let Some(Ok(line)) = input.lines.next() else {
        // The host is gone: every call waiting for it fails, and serving ends.
        pending_of(&input.pending).clear();
        input.early = None;
        return Read::End;
    };
    let Ok(message) = serde_json::from_str::<Value>(&line) else {
        return Read::Handled;
    };
    let seq = message["seq"].as_u64().unwrap_or(0);
    match message["type"].as_str() {
        Some("request") => {
            if let Some(generation) = message["generation"].as_u64() {
                input.sent.sent(generation);
            }
            let request = match message {
                Value::Object(mut fields) => fields.remove("request").unwrap_or(Value::Null),
                _ => Value::Null,
            };
            let runtime = ready_of(&input.ready).clone();
            match runtime {
                Some(runtime) => {
                    // Open: whatever came early is with the main thread.
                    input.early = None;
                    Read::Job(Job {
                        seq,
                        request,
                        runtime,
                    })
                }
                None => match input.early.as_ref().map(|tx| tx.send((seq, request))) {
                    Some(Ok(())) => Read::Handled,
                    _ => Read::End,
                },
            }
        }
        Some("reply") => {
            if let Some(waiting) = pending_of(&input.pending).remove(&seq) {
                let reply = &message["reply"];
                let result = if message["ok"] == true {
                    Ok(reply.clone())
                } else {
                    Err(Refusal::from_reply(reply, || "the host refused".to_owned()))
                };
                let _ = waiting.send(result);
            }
            Read::Handled
        }
        _ => Read::Handled,
    }
}

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
    // after, each is answered by the thread that read it, which first passes the
    // input on (see `leader_follower`).
    let (early_tx, early) = mpsc::channel::<(u64, Value)>();
    let ready: Ready = Arc::default();
    let sent = Arc::new(SentGeneration::default());
    let answers = output.clone();
    let ended = leader_follower::serve(
        "atrs-runner-request",
        Input {
            lines: input.lines(),
            ready: ready.clone(),
            early: Some(early_tx),
            pending: pending.clone(),
            sent: sent.clone(),
        },
        Box::new(read),
        Box::new(move |job, release| answer(job, &answers, release)),
    )
    .expect("a thread for the runner's input");
    options.library = Some(library);
    let runtime = Arc::new(Runtime::open(
        options,
        hooks_over(caller(output.clone(), pending), Some(sent)),
    )?);
    *ready_of(&ready) = Some(runtime.clone());
    // Until the input thread sees the runtime open (or the input ends).
    for (seq, request) in early {
        let (job, output) = (
            Job {
                seq,
                request,
                runtime: runtime.clone(),
            },
            output.clone(),
        );
        // When no thread can be started, the host's bound on the request tells it so.
        let _ = std::thread::Builder::new()
            .name("atrs-runner-request".into())
            .spawn(move || answer(job, &output, &mut || {}));
    }
    let _ = ended.recv();
    ready_of(&ready).take();
    if let Ok(runtime) = Arc::try_unwrap(runtime) {
        runtime.close();
    }
    Ok(())
}
