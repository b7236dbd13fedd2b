//! `cargo xtask serve`: build the book, serve it on loopback, rebuild it when
//! a file under `book/` or an exercise's folder (READMEs and code the
//! chapters include) changes, and reload the open pages.
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
            for note in &built.notes {
                eprintln!("note: {note}");
            }
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
    let sources = Sources::of(&root, &book_root, &site.out_dir);
    let _watcher = match watch_book(&book_root, sources, Arc::clone(&site)) {
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

/// What the book is built from, to rebuild it when one of them changes.
#[derive(Debug)]
struct Sources {
    /// Watched recursively: the book's folder and every exercise's folder
    /// in the catalogue (chapters include their READMEs and code).
    folders: Vec<PathBuf>,
    /// The build's output: the build writes it, so a change there must not
    /// start the next build.
    build_dir: PathBuf,
    /// The learner files: the book shows them as shipped (see
    /// `book::includes`), so a learner's save changes nothing in the book
    /// and must not reload the page they are reading.
    learner_files: Vec<PathBuf>,
}

impl Sources {
    /// The sources of the book at `book_root` in the repository at `root`.
    /// Without a readable catalogue, only the book's folder.
    fn of(root: &Path, book_root: &Path, build_dir: &Path) -> Sources {
        let mut sources = Sources {
            folders: vec![book_root.to_path_buf()],
            build_dir: build_dir.to_path_buf(),
            learner_files: Vec::new(),
        };
        if let Ok(catalogue) = Catalogue::load(root) {
            for exercise in &catalogue.exercises {
                let folder = root.join(&exercise.dir);
                if folder.is_dir() && !sources.folders.contains(&folder) {
                    sources.folders.push(folder);
                }
                sources
                    .learner_files
                    .push(root.join(exercise.learner_file()));
            }
        }
        sources
    }

    /// Whether `event` calls for a rebuild: something was created, changed
    /// or removed (not just read: inotify reports the build's own reads) at
    /// a path that is not the build's output, a learner file or build
    /// output of cargo's.
    fn changed_by(&self, event: &notify::Event) -> bool {
        !event.kind.is_access()
            && event.paths.iter().any(|path| {
                !path.starts_with(&self.build_dir)
                    && !self.learner_files.iter().any(|file| path == file)
                    && !self.in_cargo_output(path)
            })
    }

    /// Whether `path` is under a `target` folder inside a watched folder (a
    /// crate built with its own target folder); a `target` above the
    /// repository does not count.
    fn in_cargo_output(&self, path: &Path) -> bool {
        self.folders.iter().any(|folder| {
            path.strip_prefix(folder)
                .is_ok_and(|inside| inside.components().any(|part| part.as_os_str() == "target"))
        })
    }
}

/// Rebuilds the book when one of its [`Sources`] changes.
fn watch_book(
    book_root: &Path,
    sources: Sources,
    site: Arc<Site>,
) -> Result<notify::RecommendedWatcher> {
    let (changes, changed) = mpsc::channel();
    let folders = sources.folders.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && sources.changed_by(&event)
        {
            let _ = changes.send(());
        }
    })
    .context("cannot start the file watcher")?;
    for folder in &folders {
        watcher
            .watch(folder, RecursiveMode::Recursive)
            .with_context(|| format!("cannot watch {}", folder.display()))?;
    }

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
    let decoded = book::links::percent_decode(url_path);
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

    fn event(kind: notify::EventKind, path: &Path) -> notify::Event {
        notify::Event::new(kind).add_path(path.to_path_buf())
    }

    #[test]
    fn exercise_folders_are_watched_but_learner_files_and_build_output_are_not() {
        let root = crate::workspace::root();
        let book_root = root.join("book");
        let sources = Sources::of(&root, &book_root, &book_root.join("build"));
        let catalogue = Catalogue::load(&root).expect("the workshop's catalogue");
        let exercise = &catalogue.exercises[0];
        assert!(sources.folders.contains(&book_root));
        assert!(
            sources.folders.contains(&root.join(&exercise.dir)),
            "{sources:?}"
        );

        let modified = notify::EventKind::Modify(notify::event::ModifyKind::Any);
        let read = notify::EventKind::Access(notify::event::AccessKind::Any);
        let readme = root.join(&exercise.dir).join("README.md");
        assert!(sources.changed_by(&event(modified, &readme)));
        assert!(sources.changed_by(&event(modified, &book_root.join("src/x.md"))));
        assert!(!sources.changed_by(&event(read, &readme)));
        assert!(!sources.changed_by(&event(modified, &root.join(exercise.learner_file()))));
        assert!(!sources.changed_by(&event(modified, &book_root.join("build/index.html"))));
        assert!(!sources.changed_by(&event(
            modified,
            &root.join(&exercise.dir).join("target/debug/x")
        )));
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
