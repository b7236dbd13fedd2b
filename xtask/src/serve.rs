//! `cargo xtask serve`: build the book, serve it on loopback, rebuild it when
//! a file under `book/` changes, and reload the open pages.
//!
//! - The server is [`http`], a thread per connection: one reader and a few
//!   scripts need no async runtime.
//! - Only `127.0.0.1`: the book is for the learner at this machine.
//! - Live reload is polling, which costs one tiny request a second: every
//!   HTML page gets a script that asks `/__xtask/generation` and reloads when
//!   the number changes after a rebuild.
//! - A rebuild takes the write side of a lock that every request reads under,
//!   so no one is served a half-written book.

mod http;

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use notify::{RecursiveMode, Watcher};

use crate::book;
use crate::catalogue::Catalogue;
use crate::progress::Progress;

/// Options of `cargo xtask serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The loopback port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Serve another mdBook folder instead of the workshop's `book/` (a test
    /// fixture, a copy being edited).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The path the reload script polls; not a file of the book.
const GENERATION_PATH: &str = "/__xtask/generation";

/// How long to wait for an editor's burst of writes to end before rebuilding.
const SETTLE: Duration = Duration::from_millis(300);

/// What the request threads share with the rebuild thread.
struct Site {
    out_dir: PathBuf,
    /// Bumped after every successful rebuild; pages reload when it changes.
    generation: AtomicU64,
    /// Readers serve files under it; a rebuild writes under it.
    build_lock: RwLock<()>,
}

/// Builds the book and serves it until interrupted.
pub fn run(args: Args) -> Result<()> {
    let root = crate::workspace::root();
    let book_root = match &args.dir {
        Some(dir) => {
            std::path::absolute(dir).with_context(|| format!("cannot resolve {}", dir.display()))?
        }
        None => book::book_dir(&root),
    };

    let started = Instant::now();
    let out_dir = match book::build_book_at(&book_root) {
        Ok(built) => {
            report_warnings(&built.warnings);
            println!(
                "Built the book in {:.1} s.",
                started.elapsed().as_secs_f64()
            );
            built.out_dir
        }
        Err(error) => {
            // Keep serving: the next save that fixes the book rebuilds it.
            eprintln!("error: {error:#}");
            eprintln!("Serving the last build; fix the error and save to rebuild.");
            book_root.join("build")
        }
    };

    let listener = TcpListener::bind(("127.0.0.1", args.port)).map_err(|error| {
        anyhow::anyhow!(
            "cannot listen on 127.0.0.1:{}: {error} (is another `cargo xtask serve` running? try --port {})",
            args.port,
            args.port.wrapping_add(1)
        )
    })?;
    let port = listener
        .local_addr()
        .context("the listening socket has no address")?
        .port();
    let url = format!("http://127.0.0.1:{port}/");

    let site = Arc::new(Site {
        out_dir,
        generation: AtomicU64::new(1),
        build_lock: RwLock::new(()),
    });

    // The watcher must live as long as the server: dropping it stops it.
    let _watcher = match watch_book(&book_root, Arc::clone(&site)) {
        Ok(watcher) => Some(watcher),
        Err(error) => {
            eprintln!(
                "warning: cannot watch {} for changes ({error:#}); run `cargo xtask book` and reload the page after an edit.",
                book_root.display()
            );
            None
        }
    };

    println!("The book is at {url}  (Ctrl-C to stop)");
    println!("{}", next_step(&root, &book_root, &url));
    // The URL line is what scripts and the browser test wait for.
    let _ = std::io::stdout().flush();

    http::serve(listener, move |request| respond(&site, request));
    Ok(())
}

fn report_warnings(warnings: &[String]) {
    for warning in warnings {
        eprintln!("warning (mdBook): {warning}");
    }
}

/// What the learner should do next: the current exercise from the catalogue
/// and their progress, or where to start reading.
fn next_step(root: &Path, book_root: &Path, url: &str) -> String {
    let catalogue = match Catalogue::load(root) {
        Ok(catalogue) => catalogue,
        Err(_) => return format!("Start reading at {url}"),
    };
    let Some(exercise) = Progress::load(root).current(&catalogue) else {
        return format!(
            "You have passed every exercise. Take your time with the book at {url}, or run eda-lint on your own code."
        );
    };
    let chapter = &exercise.chapter;
    let mut lines = vec![
        format!(
            "Your next exercise: {} (about {} min).",
            exercise.id, exercise.minutes
        ),
        format!("  Read the chapter:  {url}{chapter}/index.html"),
    ];
    // The chapter's exercise page, where the book has one.
    if book_root
        .join("src")
        .join(chapter)
        .join("exercise.md")
        .is_file()
    {
        lines.push(format!("  Then the exercise: {url}{chapter}/exercise.html"));
    }
    lines.push(format!(
        "  Edit {} and run `cargo xtask watch` (or `cargo xtask grade {}`).",
        exercise.learner_file().display(),
        exercise.id
    ));
    lines.join("\n")
}

/// Rebuilds the book when a file under `book/` (but not `book/build`)
/// changes.
fn watch_book(book_root: &Path, site: Arc<Site>) -> Result<notify::RecommendedWatcher> {
    let (changes, changed) = mpsc::channel();
    let build_dir = site.out_dir.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        // Ignore what the build itself does, or every build would trigger
        // the next one: it reads the sources (inotify reports opens) and
        // writes `build/`.
        if !event.kind.is_access() && event.paths.iter().any(|path| !path.starts_with(&build_dir)) {
            let _ = changes.send(());
        }
    })
    .context("cannot start the file watcher")?;
    watcher
        .watch(book_root, RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", book_root.display()))?;

    let book_root = book_root.to_path_buf();
    std::thread::spawn(move || {
        while changed.recv().is_ok() {
            // Let the burst of writes of one save settle.
            while changed.recv_timeout(SETTLE).is_ok() {}
            let started = Instant::now();
            let result = {
                let _writing = site
                    .build_lock
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                book::build_book_at(&book_root)
            };
            match result {
                Ok(built) => {
                    report_warnings(&built.warnings);
                    site.generation.fetch_add(1, Ordering::SeqCst);
                    println!(
                        "Rebuilt the book in {:.1} s.",
                        started.elapsed().as_secs_f64()
                    );
                }
                Err(error) => eprintln!("error: {error:#}"),
            }
        }
    });
    Ok(watcher)
}

/// Answers one request: the reload counter, a file of the book, or 404.
fn respond(site: &Site, request: &http::Request) -> http::Response {
    if request.path == GENERATION_PATH {
        return http::Response {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: site
                .generation
                .load(Ordering::SeqCst)
                .to_string()
                .into_bytes(),
        };
    }
    let found = {
        let _reading = site
            .build_lock
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        file_for(&site.out_dir, &request.path)
            .and_then(|path| std::fs::read(&path).ok().map(|bytes| (path, bytes)))
    };
    let generation = site.generation.load(Ordering::SeqCst);
    let (status, path, body) = match found {
        Some((path, bytes)) => (200, path, bytes),
        None => {
            let not_found = site.out_dir.join("404.html");
            let bytes = std::fs::read(&not_found)
                .unwrap_or_else(|_| b"<!DOCTYPE html><p>Not found.</p>".to_vec());
            (404, not_found, bytes)
        }
    };
    let content_type = content_type(&path);
    let body = if content_type.starts_with("text/html") {
        with_reload_script(body, generation)
    } else {
        body
    };
    http::Response {
        status,
        content_type,
        body,
    }
}

/// Maps a URL path to a file under `out_dir`; `None` if there is none or the
/// path tries to leave the book.
fn file_for(out_dir: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path);
    let mut path = out_dir.to_path_buf();
    for component in Path::new(decoded.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    if path.is_dir() {
        path.push("index.html");
    }
    path.is_file().then_some(path)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = text.get(index + 1..index + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            decoded.push(byte);
            index += 3;
            continue;
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|extension| extension.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("ico") => "image/x-icon",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("ttf") => "font/ttf",
        Some("txt" | "toml" | "md" | "mmd" | "rs") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Adds the live-reload script before `</body>`.
fn with_reload_script(html: Vec<u8>, generation: u64) -> Vec<u8> {
    let script = format!(
        "<script>\n\
         // Added by `cargo xtask serve`: reload when the book is rebuilt.\n\
         (() => {{\n\
         \x20   const built = '{generation}';\n\
         \x20   setInterval(() => {{\n\
         \x20       fetch('{GENERATION_PATH}', {{ cache: 'no-store' }})\n\
         \x20           .then((response) => response.text())\n\
         \x20           .then((now) => {{ if (now !== built) window.location.reload(); }})\n\
         \x20           .catch(() => {{}});\n\
         \x20   }}, 1000);\n\
         }})();\n\
         </script>\n"
    );
    let Some(position) = find_last(&html, b"</body>") else {
        return html;
    };
    let mut injected = Vec::with_capacity(html.len() + script.len());
    injected.extend_from_slice(&html[..position]);
    injected.extend_from_slice(script.as_bytes());
    injected.extend_from_slice(&html[position..]);
    injected
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .rposition(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths_cannot_leave_the_book() {
        let out_dir = std::env::temp_dir().join(format!("xtask-serve-{}", std::process::id()));
        std::fs::create_dir_all(out_dir.join("welcome")).expect("create");
        std::fs::write(out_dir.join("welcome/index.html"), "x").expect("write");
        assert_eq!(
            file_for(&out_dir, "/welcome/"),
            Some(out_dir.join("welcome/index.html"))
        );
        assert_eq!(
            file_for(&out_dir, "/welcome%2Findex.html"),
            Some(out_dir.join("welcome/index.html"))
        );
        assert_eq!(file_for(&out_dir, "/../etc/passwd"), None);
        assert_eq!(
            file_for(&out_dir, "/welcome/%2e%2e/%2e%2e/etc/passwd"),
            None
        );
        assert_eq!(file_for(&out_dir, "/missing.html"), None);
        let _ = std::fs::remove_dir_all(&out_dir);
    }

    #[test]
    fn the_reload_script_goes_before_the_last_body_end() {
        let html = b"<body><code>&lt;/body&gt;</code></body></html>".to_vec();
        let injected = String::from_utf8(with_reload_script(html, 7)).expect("utf-8");
        assert!(injected.contains("const built = '7';"));
        assert!(
            injected.ends_with("</script>\n</body></html>"),
            "{injected}"
        );
    }
}
