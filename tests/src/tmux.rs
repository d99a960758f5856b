//! A real terminal for the end-to-end tests: the host binary runs in a tmux pane of a
//! given size on a private tmux server; tests type keys and read the screen.
//!
//! `.ci/run` installs Debian's `tmux`. Every wait polls the screen until a condition
//! holds or a deadline passes.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    time::{Duration, Instant},
};

/// Whether tmux is installed (the terminal tests need it).
pub fn available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One program in a tmux pane of its own server.
pub struct Terminal {
    socket: PathBuf,
    _dir: tempfile::TempDir,
    /// The pane's width in columns.
    pub width: usize,
}

/// The line the wrapper prints when the program ends: `[exit N]`.
const EXIT_MARK: &str = "[exit ";

impl Terminal {
    /// Starts `program args` in a `width` × `height` pane with `env` added; when the
    /// program ends, the pane shows `[exit N]` and stays open.
    pub fn start(
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        width: u16,
        height: u16,
    ) -> Terminal {
        assert!(
            available(),
            "the terminal tests need tmux (Debian: apt-get install tmux; .ci/run installs it)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("tmux.sock");
        // The wrapper outlives a Ctrl-C that reaches it too (the program's own
        // handling decides), then prints the program's exit code.
        let mut script = String::from("trap : INT; \"$@\"; echo \"[exit $?]\"; exec sleep 3600");
        for (k, v) in env.iter().rev() {
            script = format!("export {k}={}; {script}", quote(v));
        }
        let mut command = Command::new("tmux");
        command
            .arg("-S")
            .arg(&socket)
            .args(["-f", "/dev/null", "new-session", "-d", "-s", "t"])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .args(["sh", "-c", &script, "sh"])
            .arg(program)
            .args(args)
            .env_remove("ATRS_PLUGINS_DIR")
            .env_remove("ATRS_STORE")
            .env_remove("ATRS_STORE_DIR")
            .env_remove("BROWSER")
            .env("TERM", "xterm-256color");
        let output = command.output().expect("tmux runs");
        assert!(output.status.success(), "tmux did not start: {output:?}");
        let terminal = Terminal {
            socket,
            _dir: dir,
            width: usize::from(width),
        };
        // The pane size holds even with no client attached.
        terminal.tmux(&["set-option", "-t", "t", "window-size", "manual"]);
        terminal.tmux(&[
            "resize-window",
            "-t",
            "t",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
        terminal
    }

    /// Resizes the pane to `width` × `height`, as a person dragging the window's edge
    /// does: the program gets SIGWINCH, and tmux folds rows wider than the new width.
    pub fn resize(&mut self, width: u16, height: u16) {
        let out = self.tmux(&[
            "resize-window",
            "-t",
            "t",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
        assert!(out.status.success(), "resize-window failed: {out:?}");
        self.width = usize::from(width);
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// The visible screen, one string per line (trailing spaces cut); a line the
    /// terminal wrapped is joined again, so it reads longer than the width.
    pub fn rows(&self) -> Vec<String> {
        let out = self.tmux(&["capture-pane", "-p", "-J", "-t", "t"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_end().to_owned())
            .collect()
    }

    /// The visible screen with its colours and other attributes as escape sequences
    /// (`ESC [ 32 m` …), lines joined as in [`Terminal::rows`].
    pub fn screen_with_colours(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-e", "-J", "-t", "t"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The visible screen as one text.
    pub fn screen(&self) -> String {
        self.rows().join("\n")
    }

    /// Waits until `ready` holds for the screen; the screen then.
    pub fn wait_until(&self, what: &str, within: Duration, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited {within:?} for {what}; the screen:\n{screen}"
            );
            std::thread::park_timeout(Duration::from_millis(50));
        }
    }

    /// Waits until the screen shows `text`.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), Duration::from_secs(30), |s| {
            s.contains(text)
        })
    }

    /// Waits until the question in focus starts with `prefix`: the last non-empty row,
    /// or, for a question wrapped over rows, the row starting `? ` above its typing row
    /// (`› …`) or above its last row (ending `(y/N)` or `(Y/n)`).
    pub fn wait_for_prompt(&self, prefix: &str) -> String {
        self.wait_until(
            &format!("a prompt starting {prefix:?}"),
            Duration::from_secs(30),
            |s| question_in_focus(s).is_some_and(|q| q.starts_with(prefix)),
        )
    }

    /// The screen's rows as the terminal shows them: a line it wrapped stays on rows.
    pub fn rows_as_shown(&self) -> Vec<String> {
        let out = self.tmux(&["capture-pane", "-p", "-t", "t"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_end().to_owned())
            .collect()
    }

    /// Presses keys by tmux name (`Enter`, `Escape`, `C-c`, `Down`, `C-u`).
    pub fn press(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        let out = self.tmux(&args);
        assert!(out.status.success(), "send-keys failed: {out:?}");
    }

    /// Types `text` literally.
    pub fn type_text(&self, text: &str) {
        let out = self.tmux(&["send-keys", "-t", "t", "-l", text]);
        assert!(out.status.success(), "send-keys failed: {out:?}");
    }

    /// Pastes `text` as a terminal does: bracketed when the program asked for it.
    pub fn paste(&self, text: &str) {
        let out = self.tmux(&["set-buffer", "--", text]);
        assert!(out.status.success(), "set-buffer failed: {out:?}");
        let out = self.tmux(&["paste-buffer", "-p", "-t", "t"]);
        assert!(out.status.success(), "paste-buffer failed: {out:?}");
    }

    /// Types `text`, then Enter.
    pub fn answer(&self, text: &str) {
        self.type_text(text);
        self.press(&["Enter"]);
    }

    /// Waits for the program to end; its exit code.
    pub fn exit_code(&self) -> i32 {
        let screen = self.wait_for(EXIT_MARK);
        let at = screen.rfind(EXIT_MARK).expect("exit mark") + EXIT_MARK.len();
        screen[at..]
            .split(']')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no exit code on the screen:\n{screen}"))
    }

    /// Whether the terminal shows its cursor.
    pub fn cursor_visible(&self) -> bool {
        let out = self.tmux(&["display-message", "-p", "-t", "t", "#{cursor_flag}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// The first row of the question waiting for an answer on `screen`, if one is.
fn question_in_focus(screen: &str) -> Option<&str> {
    let rows: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = *rows.last()?;
    if last.starts_with("? ") {
        return Some(last);
    }
    // A typing row shows "› " and what is typed; captured rows lose trailing spaces.
    let typing = last == "›" || last.starts_with("› ");
    let wrapped = typing || last.ends_with("(y/N)") || last.ends_with("(Y/n)");
    if !wrapped {
        return None;
    }
    rows.iter()
        .rev()
        .take(5)
        .find(|l| l.starts_with("? "))
        .copied()
}

/// `text` as one single-quoted shell word.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
