//! External programs with a timeout, killed when it expires or when the caller goes away.

use std::io::ErrorKind;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::InputError;

/// What a finished program left behind.
pub(crate) struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    /// More than the allowed stdout came: the program was stopped early.
    pub stdout_truncated: bool,
    /// The start of stderr (lossy UTF-8).
    pub stderr: String,
}

impl Output {
    /// stderr, trimmed and cut to one short line for error messages.
    pub fn stderr_line(&self) -> String {
        let s = self.stderr.trim();
        let s: String = s.chars().take(300).collect();
        s.replace('\n', " / ")
    }
}

const MAX_STDERR: usize = 16 * 1024;

/// Runs `cmd` (stdin closed), reading at most `max_stdout` bytes of stdout. Past that the
/// program is killed and `stdout_truncated` is set. After `timeout` it is killed and
/// [`InputError::Timeout`] returned; a program that cannot be started is
/// [`InputError::ToolMissing`].
pub(crate) async fn run(
    tool: &'static str,
    mut cmd: Command,
    timeout: Duration,
    max_stdout: usize,
) -> Result<Output, InputError> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::PermissionDenied) => {
            return Err(InputError::ToolMissing(tool));
        }
        Err(e) => return Err(InputError::Io(e)),
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();

    let work = async {
        let read_out = async {
            let r = read_capped(stdout, max_stdout, false).await;
            if matches!(r, Ok((_, true))) {
                // Enough: stop it now (it may be blocked on the full pipe, and stderr only
                // ends when it exits).
                let _ = child.start_kill();
            }
            r
        };
        let (out, err) = tokio::join!(read_out, read_capped(stderr, MAX_STDERR, true));
        let (stdout, stdout_truncated) = out?;
        let (stderr, _) = err?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>(Output {
            status,
            stdout,
            stdout_truncated,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(InputError::Io(e)),
        Err(_) => {
            tracing::warn!(tool, ?timeout, "external tool timed out; killing it");
            let _ = child.start_kill();
            let _ = child.wait().await;
            Err(InputError::Timeout(tool))
        }
    }
}

/// Reads up to `max` bytes. When more comes: with `drain_rest` the rest is read and dropped
/// (so the program never blocks on a full pipe), else reading stops and `true` is returned
/// so the caller can kill the writer.
async fn read_capped<R: AsyncRead + Unpin>(
    reader: Option<R>,
    max: usize,
    drain_rest: bool,
) -> std::io::Result<(Vec<u8>, bool)> {
    let Some(mut reader) = reader else { return Ok((Vec::new(), false)) };
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok((kept, false));
        }
        let room = max - kept.len();
        if n > room {
            kept.extend_from_slice(&buf[..room]);
            if drain_rest {
                drain(&mut reader, &mut buf).await?;
                return Ok((kept, false));
            }
            return Ok((kept, true));
        }
        kept.extend_from_slice(&buf[..n]);
    }
}

async fn drain<R: AsyncRead + Unpin>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<()> {
    while reader.read(buf).await? != 0 {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn endless_output_is_cut_not_timed_out() {
        let mut cmd = Command::new("yes");
        cmd.arg("hello");
        let started = std::time::Instant::now();
        let out = run("yes", cmd, Duration::from_secs(10), 1000).await;
        let Ok(out) = out else { panic!("yes failed") };
        assert!(out.stdout_truncated);
        assert_eq!(out.stdout.len(), 1000);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn missing_program() {
        let cmd = Command::new("/nonexistent/program");
        let r = run("prog", cmd, Duration::from_secs(1), 10).await;
        assert!(matches!(r, Err(InputError::ToolMissing("prog"))));
    }
}
