//! The book in a real browser: what a reader sees.
//!
//! Builds and serves the book with `cargo xtask serve` (the learner's
//! command), loads every chapter in headless Chromium over the DevTools
//! Protocol, and checks that:
//! - every ```` ```mermaid ```` block became an SVG diagram, with no syntax error,
//!   an id no other element of the page has, a `viewBox` and a visible size,
//!   on each of several loads of the page (drawing them used to race);
//! - every quiz is mounted, and answering all its questions right (clicking
//!   the choices, typing the short answers) ends in "You answered N/N";
//! - search finds a known term and links to the chapter that teaches it, and
//!   its results quote prose, not diagram source;
//! - a diagram that does not parse keeps its source, is named in a console
//!   error, and leaves the other diagrams drawn (on a small book of its own);
//! - choosing a dark theme redraws the diagrams in dark colours;
//! - the quiz buttons take the theme's link colour, with readable text, in
//!   the light and in a dark theme;
//! - no page logs an error to the console (a failed script, a 404, ...);
//! - the front page leads to the first chapter;
//! - on a laptop screen (1280 px), wide content stays readable: a failure
//!   report wraps instead of hiding its key sentence behind a horizontal
//!   scroll, and no table column is squeezed to a word a line.
//!
//! Chromium comes from the system (`apt-get install chromium`; `CHROMIUM`
//! names another binary). Without it the test is skipped loudly, except
//! under CI (`CI` set), where it fails: CI must run it.
//!
//! Screenshots of each chapter's diagrams and first quiz, and of the search,
//! are written to `target/tmp/browser-*.png` to look at by hand.

#[path = "browser/cdp.rs"]
mod cdp;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cdp::{Browser, Page};
use serde_json::{Value, json};

/// A term the search must find, and the chapter it must lead to.
const SEARCH_TERM: &str = "idempotency";
const SEARCH_EXPECTED_CHAPTER: &str = "idempotency/index.html";

/// The first build compiles xtask and renders the book on a 2-core machine.
const SERVE_TIMEOUT: Duration = Duration::from_secs(900);

fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// `CHROMIUM`, or the first Chromium-like program on the `PATH`.
fn find_chromium() -> Option<PathBuf> {
    if let Some(explicit) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(explicit));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|candidate| candidate.is_file())
}

/// `cargo xtask serve --port 0`, stopped when dropped.
struct ServedBook {
    process: Child,
    url: String,
}

impl ServedBook {
    /// Serves the workshop's book, or the mdBook in `book_dir`, built into
    /// `build_dir` (mdBook reads `MDBOOK_BUILD__BUILD_DIR`), so that the test
    /// never overwrites the `book/build` a reader may be serving.
    fn start(root: &Path, book_dir: Option<&Path>, build_dir: &Path) -> ServedBook {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .args(["xtask", "serve", "--port", "0"])
            .env("MDBOOK_BUILD__BUILD_DIR", build_dir);
        if let Some(book_dir) = book_dir {
            command.arg("--dir").arg(book_dir);
        }
        let mut process = command
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run `cargo xtask serve`");
        let (Some(stdout), Some(mut stderr)) = (process.stdout.take(), process.stderr.take())
        else {
            panic!("`cargo xtask serve`'s output is not piped");
        };
        let (announce, announced) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("The book is at ") {
                    let url = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let _ = announce.send(url);
                }
            }
        });
        // Keep stderr for the failure message; it is read to the end only
        // if the server dies.
        let url = match announced.recv_timeout(SERVE_TIMEOUT) {
            Ok(url) => url,
            Err(_) => {
                let _ = process.kill();
                let _ = process.wait();
                let mut errors = String::new();
                let _ = stderr.read_to_string(&mut errors);
                panic!("`cargo xtask serve` did not print its URL; its stderr:\n{errors}");
            }
        };
        // Drain stderr so the server never blocks writing warnings.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        ServedBook { process, url }
    }
}

impl Drop for ServedBook {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A chapter page of the built book and what it should show.
#[derive(Debug)]
struct ChapterPage {
    /// Relative to the book's root: `configuration/index.html`.
    path: String,
    diagrams: usize,
    quizzes: usize,
}

/// The chapter pages of the built book, read from the HTML `serve` built.
fn chapter_pages(out_dir: &Path) -> Vec<ChapterPage> {
    fn walk(dir: &Path, out_dir: &Path, pages: &mut Vec<ChapterPage>) {
        let entries = std::fs::read_dir(dir)
            .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
        for entry in entries.map_while(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out_dir, pages);
                continue;
            }
            let Ok(relative) = path.strip_prefix(out_dir) else {
                continue;
            };
            let relative = relative.to_string_lossy().replace('\\', "/");
            // Not chapters: the front-page redirect, and mdBook's own pages.
            if !relative.ends_with(".html")
                || ["index.html", "404.html", "print.html", "toc.html"].contains(&relative.as_str())
            {
                continue;
            }
            let html = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            pages.push(ChapterPage {
                diagrams: html.matches("<pre class=\"mermaid\"").count(),
                quizzes: html.matches("class=\"quiz-placeholder\"").count(),
                path: relative,
            });
        }
    }
    let mut pages = Vec::new();
    walk(out_dir, out_dir, &mut pages);
    pages.sort_by(|a, b| a.path.cmp(&b.path));
    pages
}

/// Loads `url` and waits until the page and its deferred scripts have run.
fn open(browser: &mut Browser, page: &Page, url: &str) -> Result<(), String> {
    browser.call(Some(page), "Page.navigate", json!({ "url": url }))?;
    browser.wait_for(
        page,
        &format!(
            "location.href === {} && document.readyState === 'complete'",
            json!(url)
        ),
        &format!("loading {url}"),
    )
}

/// Console errors, uncaught exceptions and failed loads among `events`.
fn errors_in(events: &[Value], where_: &str) -> Vec<String> {
    let mut errors = Vec::new();
    for event in events {
        let params = &event["params"];
        match event["method"].as_str() {
            Some("Runtime.consoleAPICalled")
                if matches!(params["type"].as_str(), Some("error" | "assert")) =>
            {
                let text: Vec<String> = params["args"]
                    .as_array()
                    .map(|args| {
                        args.iter()
                            .map(|arg| {
                                arg["value"]
                                    .as_str()
                                    .map(str::to_string)
                                    .or_else(|| arg["description"].as_str().map(str::to_string))
                                    .unwrap_or_else(|| arg.to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                errors.push(format!("{where_}: console.error: {}", text.join(" ")));
            }
            Some("Runtime.exceptionThrown") => {
                let details = &params["exceptionDetails"];
                let description = details["exception"]["description"]
                    .as_str()
                    .or_else(|| details["text"].as_str())
                    .unwrap_or("?");
                errors.push(format!("{where_}: uncaught exception: {description}"));
            }
            Some("Log.entryAdded") if params["entry"]["level"].as_str() == Some("error") => {
                let entry = &params["entry"];
                errors.push(format!(
                    "{where_}: {} {}",
                    entry["text"].as_str().unwrap_or("?"),
                    entry["url"].as_str().unwrap_or("")
                ));
            }
            _ => {}
        }
    }
    errors
}

/// Saves a screenshot next to the test's build files, to look at by hand:
/// of the viewport, or of the page area `clip` (`{x, y, width, height}` in
/// page coordinates, as `Page.captureScreenshot` takes it).
fn screenshot(
    browser: &mut Browser,
    page: &Page,
    name: &str,
    clip: Option<Value>,
) -> Result<PathBuf, String> {
    let mut parameters = json!({ "format": "png", "captureBeyondViewport": clip.is_some() });
    if let Some(mut clip) = clip {
        clip["scale"] = json!(1);
        parameters["clip"] = clip;
    }
    let shot = browser.call(Some(page), "Page.captureScreenshot", parameters)?;
    let data = shot["data"].as_str().ok_or("no screenshot data")?;
    let png = data_encoding::BASE64
        .decode(data.as_bytes())
        .map_err(|error| format!("screenshot is not base64: {error}"))?;
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("browser-{name}.png"));
    std::fs::write(&path, png).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(path)
}

/// How many times a page with diagrams is loaded. Drawing them used to race
/// (two diagrams drawn in the same millisecond shared an SVG id, and one was
/// blank or drawn over the other in most loads, not all): one clean load
/// proves little.
const DIAGRAM_PAGE_LOADS: usize = 3;

/// Checks one chapter: its diagrams (on each of [`DIAGRAM_PAGE_LOADS`] loads)
/// and quizzes.
fn check_chapter(
    browser: &mut Browser,
    page: &Page,
    base_url: &str,
    chapter: &ChapterPage,
) -> Result<(), String> {
    let url = format!("{base_url}{}", chapter.path);
    let loads = if chapter.diagrams > 0 {
        DIAGRAM_PAGE_LOADS
    } else {
        1
    };
    for load in 1..=loads {
        open(browser, page, &url)?;
        if chapter.diagrams > 0 {
            check_diagrams(browser, page, chapter)
                .map_err(|error| format!("{} (load {load} of {loads}): {error}", chapter.path))?;
        }
    }
    if chapter.quizzes > 0 {
        // The front end mounts each quiz into its placeholder: a header and
        // a button to start it.
        browser.wait_for(
            page,
            &format!(
                "[...document.querySelectorAll('.quiz-placeholder')]\
                 .filter((quiz) => quiz.querySelector('.mdbook-quiz button')).length === {}",
                chapter.quizzes
            ),
            &format!("{}: {} quiz(zes) mounted", chapter.path, chapter.quizzes),
        )?;
        // Take every quiz as a reader would, answering right; the quiz must
        // then say every answer was correct. This proves the questions and
        // answers of the TOML reached the front end intact.
        for quiz in 0..chapter.quizzes {
            take_quiz(browser, page, quiz)
                .map_err(|error| format!("{}: quiz {}: {error}", chapter.path, quiz + 1))?;
        }
    }
    Ok(())
}

/// What is wrong with the page's drawn diagrams, one line each: a diagram
/// with no SVG and no error, an SVG id that another element of the page also
/// has (mermaid removes or restyles the other one), an SVG with no usable
/// `viewBox` or no visible size, or one whose drawing is (nearly) empty.
const DIAGRAM_PROBLEMS: &str = "[...document.querySelectorAll('pre.mermaid')].flatMap((diagram, index) => {\
       const name = `diagram ${index + 1}`;\
       if (diagram.dataset.mermaidError) return [`${name}: ${diagram.dataset.mermaidError}`];\
       if (/Syntax error|Parse error/i.test(diagram.textContent)) return [`${name}: ${diagram.textContent}`];\
       const svgs = diagram.querySelectorAll(':scope > svg');\
       if (svgs.length !== 1) return [`${name}: ${svgs.length} SVG(s) instead of 1 (blank or drawn twice)`];\
       const svg = svgs[0];\
       const problems = [];\
       const sharing = svg.id ? document.querySelectorAll(`#${CSS.escape(svg.id)}`).length : 0;\
       if (!svg.id) problems.push(`${name}: its SVG has no id`);\
       else if (sharing !== 1) problems.push(`${name}: its SVG id \"${svg.id}\" is used by ${sharing} elements of the page`);\
       const viewBox = (svg.getAttribute('viewBox') || '').trim().split(/[\\s,]+/).map(Number);\
       if (viewBox.length !== 4 || viewBox.some(Number.isNaN) || !(viewBox[2] > 0 && viewBox[3] > 0))\
         problems.push(`${name}: no usable viewBox (\"${svg.getAttribute('viewBox')}\")`);\
       const shown = svg.getBoundingClientRect();\
       if (shown.width < 50 || shown.height < 50)\
         problems.push(`${name}: shown ${Math.round(shown.width)}x${Math.round(shown.height)} px`);\
       const drawn = svg.getBBox();\
       if (drawn.width < 50 || drawn.height < 50)\
         problems.push(`${name}: its drawing spans only ${Math.round(drawn.width)}x${Math.round(drawn.height)}`);\
       return problems;\
     })";

/// Waits until every diagram of the page is drawn or marked as failed by
/// mermaid-init.js, then checks each drawing ([`DIAGRAM_PROBLEMS`]).
fn check_diagrams(browser: &mut Browser, page: &Page, chapter: &ChapterPage) -> Result<(), String> {
    let settled = browser.wait_for(
        page,
        &format!(
            "document.querySelectorAll('pre.mermaid > svg, pre.mermaid[data-mermaid-error]').length === {}",
            chapter.diagrams
        ),
        &format!("{} mermaid diagram(s) rendered", chapter.diagrams),
    );
    // Even when waiting failed, say which diagrams are wrong and how.
    let problems = browser.evaluate(page, DIAGRAM_PROBLEMS)?;
    let problems: Vec<String> = problems
        .as_array()
        .map(|found| {
            found
                .iter()
                .map(|problem| problem.as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default();
    match (settled, problems.is_empty()) {
        (Ok(()), true) => Ok(()),
        (Ok(()), false) => Err(format!("diagrams drawn wrong: {}", problems.join("; "))),
        (Err(error), _) => Err(format!("{error}; {}", problems.join("; "))),
    }
}

/// Starts the `index`-th quiz of the page and answers every question with
/// the right answer from its own data: clicks the right choices, types the
/// short answers, submits, and expects the final "You answered N/N".
fn take_quiz(browser: &mut Browser, page: &Page, index: usize) -> Result<(), String> {
    let quiz = format!("document.querySelectorAll('.quiz-placeholder')[{index}]");
    let total = browser
        .evaluate(
            page,
            &format!("JSON.parse({quiz}.dataset.quizQuestions).questions.length"),
        )?
        .as_u64()
        .ok_or("the quiz has no questions array")?;
    let counter = |text: String| {
        format!(
            "{quiz}.querySelector('.mdbook-quiz header .counter').textContent === {}",
            json!(text)
        )
    };
    browser.evaluate(
        page,
        &format!("{quiz}.querySelector('button.start').click(), true"),
    )?;
    browser.wait_for(
        page,
        &counter(format!("Question 1 / {total}")),
        "Start shows question 1",
    )?;
    for question in 0..total {
        // Choose the right answers of a multiple-choice question (the
        // inputs' values are the answers' Markdown), or put the cursor in
        // the text box of a short-answer one and return what to type.
        let to_type = browser.evaluate(
            page,
            &format!(
                "(() => {{\
                   const quiz = {quiz};\
                   const question = JSON.parse(quiz.dataset.quizQuestions).questions[{question}];\
                   const response = quiz.querySelector('.mdbook-quiz .response');\
                   if (question.type === 'MultipleChoice') {{\
                     const right = [].concat(question.answer.answer);\
                     const inputs = [...response.querySelectorAll('input[type=radio], input[type=checkbox]')];\
                     const chosen = inputs.filter((input) => right.includes(input.value));\
                     if (chosen.length !== right.length) throw new Error('the right answers are not among the choices shown');\
                     chosen.forEach((input) => input.click());\
                     return null;\
                   }}\
                   if (question.type === 'ShortAnswer') {{\
                     response.querySelector('input[type=text], textarea').focus();\
                     return question.answer.answer;\
                   }}\
                   throw new Error(`the browser test cannot answer a ${{question.type}} question yet`);\
                 }})()"
            ),
        )?;
        if let Some(text) = to_type.as_str() {
            browser.call(Some(page), "Input.insertText", json!({ "text": text }))?;
        }
        browser.evaluate(
            page,
            &format!(
                "{quiz}.querySelector('.mdbook-quiz .response input[type=submit]').click(), true"
            ),
        )?;
        let what = format!("question {} accepted", question + 1);
        if question + 1 < total {
            browser.wait_for(
                page,
                &counter(format!("Question {} / {total}", question + 2)),
                &what,
            )?;
        } else {
            browser.wait_for(
                page,
                &format!(
                    "{quiz}.querySelector('.mdbook-quiz section').textContent.includes({})",
                    json!(format!("You answered {total}/{total} questions correctly"))
                ),
                "the quiz says every right answer was right",
            )?;
        }
    }
    Ok(())
}

/// Switches a page with diagrams to a dark theme, as a reader would with
/// the theme menu: the page reloads (mermaid has no live theme switch) and
/// the diagrams are drawn again in dark colours. The theme is then set back.
fn check_dark_theme(
    browser: &mut Browser,
    page: &Page,
    url: &str,
    diagrams: usize,
) -> Result<(), String> {
    open(browser, page, url)?;
    let drawn = format!("document.querySelectorAll('pre.mermaid > svg').length === {diagrams}");
    browser.wait_for(page, &drawn, "diagrams drawn in the light theme")?;
    browser.evaluate(
        page,
        "window.beforeTheThemeChange = true;\
         document.getElementById('mdbook-theme-toggle').click();\
         document.getElementById('mdbook-theme-navy').click(), true",
    )?;
    let result = browser.wait_for(
        page,
        &format!(
            "window.beforeTheThemeChange === undefined && document.readyState === 'complete' \
             && document.documentElement.classList.contains('navy') && {drawn} \
             && document.querySelector('pre.mermaid > svg').innerHTML.toLowerCase().includes('#1f2020')"
        ),
        "after choosing Navy, the page reloads and the diagrams use mermaid's dark theme",
    );
    // Back to light; that reloads the page too: wait for it, or the reload
    // would cancel the next navigation.
    browser.evaluate(
        page,
        "window.beforeTheThemeChange = true;\
         document.getElementById('mdbook-theme-toggle').click();\
         document.getElementById('mdbook-theme-light').click(), true",
    )?;
    browser.wait_for(
        page,
        &format!(
            "window.beforeTheThemeChange === undefined && document.readyState === 'complete' \
             && document.documentElement.classList.contains('light') && {drawn}"
        ),
        "back to the light theme",
    )?;
    result
}

/// The colours of a quiz's Start button against the theme's own: its fill
/// (which must be the theme's link colour, as `book/assets/quiz-theme.css`
/// sets it), its text, and the contrast ratio between the two (WCAG's
/// formula). `null` while the quiz is not mounted. The theme's variable is
/// resolved through a probe element, because `getComputedStyle` returns
/// custom properties as written.
const QUIZ_BUTTON_COLOURS: &str = "(() => {\
       const button = document.querySelector('.mdbook-quiz button.start');\
       if (!button) return null;\
       const probe = document.createElement('span');\
       probe.style.color = 'var(--links)';\
       document.body.appendChild(probe);\
       const links = getComputedStyle(probe).color;\
       probe.remove();\
       const shown = getComputedStyle(button);\
       const luminance = (css) => {\
         const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map((v) => {\
           const c = Number(v) / 255;\
           return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;\
         });\
         return 0.2126 * r + 0.7152 * g + 0.0722 * b;\
       };\
       const [a, b] = [luminance(shown.backgroundColor), luminance(shown.color)];\
       const contrast = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);\
       return { fill: shown.backgroundColor, text: shown.color, links, contrast };\
     })()";

/// The least contrast between a quiz button's bold text and its fill: WCAG's
/// minimum for large or bold text.
const MIN_BUTTON_CONTRAST: f64 = 3.0;

/// The quiz buttons wear the theme's colours in the light theme and, after
/// the reader picks Navy (which reloads the page), in the dark one.
fn check_quiz_buttons(
    browser: &mut Browser,
    page: &Page,
    url: &str,
    with_diagrams: bool,
) -> Result<(), String> {
    // A page with diagrams reloads on a theme change (mermaid-init.js); wait
    // for the new page then, not for the old one with the new class.
    let reloaded = if with_diagrams {
        "window.beforeTheThemeChange === undefined && "
    } else {
        ""
    };
    open(browser, page, url)?;
    let mut problems = Vec::new();
    for theme in ["light", "navy"] {
        if theme != "light" {
            browser.evaluate(
                page,
                &format!(
                    "window.beforeTheThemeChange = true;\
                     document.getElementById('mdbook-theme-toggle').click();\
                     document.getElementById('mdbook-theme-{theme}').click(), true"
                ),
            )?;
            browser.wait_for(
                page,
                &format!(
                    "{reloaded}document.readyState === 'complete' \
                     && document.documentElement.classList.contains('{theme}')"
                ),
                &format!("the {theme} theme chosen"),
            )?;
        }
        browser.wait_for(
            page,
            &format!("{QUIZ_BUTTON_COLOURS} !== null"),
            &format!("a quiz mounted in the {theme} theme"),
        )?;
        // A picture of the quiz's first screen in this theme, to look at:
        // target/tmp/browser-quiz-buttons-<theme>.png.
        let area = browser.evaluate(
            page,
            "(() => { const quiz = document.querySelector('.quiz-placeholder');\
             const bar = document.getElementById('mdbook-menu-bar');\
             if (bar) bar.style.visibility = 'hidden';\
             quiz.scrollIntoView(); const box = quiz.getBoundingClientRect();\
             return { x: Math.max(0, box.left + scrollX - 8), y: Math.max(0, box.top + scrollY - 8),\
             width: box.width + 16, height: box.height + 16 }; })()",
        )?;
        screenshot(browser, page, &format!("quiz-buttons-{theme}"), Some(area))?;
        browser.evaluate(
            page,
            "document.getElementById('mdbook-menu-bar')?.style.removeProperty('visibility'), true",
        )?;
        let colours = browser.evaluate(page, QUIZ_BUTTON_COLOURS)?;
        let get = |key: &str| colours[key].as_str().unwrap_or("?").to_string();
        let contrast = colours["contrast"].as_f64().unwrap_or(0.0);
        if get("fill") != get("links") || contrast < MIN_BUTTON_CONTRAST {
            problems.push(format!(
                "{theme}: the Start button is {} on {} (contrast {contrast:.1}, at least \
                 {MIN_BUTTON_CONTRAST} wanted); the theme's links are {}",
                get("text"),
                get("fill"),
                get("links"),
            ));
        }
    }
    // Back to light for the checks that follow.
    browser.evaluate(
        page,
        "window.beforeTheThemeChange = true;\
         document.getElementById('mdbook-theme-toggle').click();\
         document.getElementById('mdbook-theme-light').click(), true",
    )?;
    browser.wait_for(
        page,
        &format!(
            "{reloaded}document.readyState === 'complete' \
             && document.documentElement.classList.contains('light')"
        ),
        "back to the light theme",
    )?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the quiz buttons do not use the theme's colours: {}",
            problems.join("; ")
        ))
    }
}

/// Opens the search bar, types `SEARCH_TERM` key by key, reads the results.
fn check_search(
    browser: &mut Browser,
    page: &Page,
    base_url: &str,
    start: &str,
) -> Result<(), String> {
    open(browser, page, &format!("{base_url}{start}"))?;
    browser.evaluate(
        page,
        "document.getElementById('mdbook-search-toggle').click(), true",
    )?;
    browser.wait_for(
        page,
        "document.activeElement === document.getElementById('mdbook-searchbar')",
        "the search bar has the focus after a click on the search button",
    )?;
    for key in SEARCH_TERM.chars() {
        let text = key.to_string();
        browser.call(
            Some(page),
            "Input.dispatchKeyEvent",
            json!({ "type": "keyDown", "text": text, "key": text }),
        )?;
        browser.call(
            Some(page),
            "Input.dispatchKeyEvent",
            json!({ "type": "keyUp", "key": text }),
        )?;
    }
    browser.wait_for(
        page,
        &format!(
            "[...document.querySelectorAll('#mdbook-searchresults li a')]\
             .some((link) => link.getAttribute('href').includes({}))",
            json!(SEARCH_EXPECTED_CHAPTER)
        ),
        &format!("searching `{SEARCH_TERM}` lists {SEARCH_EXPECTED_CHAPTER}"),
    )?;
    // The results quote prose, not the source of the diagrams on the page.
    let diagram_syntax = browser.evaluate(
        page,
        "[...document.querySelectorAll('#mdbook-searchresults li')]\
         .map((result) => result.textContent)\
         .filter((text) => /->>|-->>|--x|sequenceDiagram/.test(text))",
    )?;
    if diagram_syntax
        .as_array()
        .is_some_and(|found| !found.is_empty())
    {
        return Err(format!(
            "search results quote mermaid source: {diagram_syntax}"
        ));
    }
    Ok(())
}

/// The Chromium to use; `None` (after saying so loudly) when there is none
/// outside CI. Under CI a missing Chromium fails the test.
fn chromium_or_skip() -> Option<PathBuf> {
    if let Some(chromium) = find_chromium() {
        return Some(chromium);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "the browser test must run in CI, but no Chromium was found: \
             install it (`apt-get install -y chromium`) or set CHROMIUM to its path"
        );
    }
    // Straight to stderr, not `eprintln!`: the test harness captures the
    // macros' output of a passing test, and this skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n\
         ==================================================================\n\
         SKIPPED the real-browser test of the book: no Chromium found.\n\
         Install it (`sudo apt-get install chromium`) or set CHROMIUM=/path.\n\
         (Under CI, with `CI` set, this is a failure, not a skip.)\n\
         ==================================================================\n"
    );
    None
}

/// The tests of this file each start a server and a browser; on a 2-core
/// machine they run one after the other.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    BROWSER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A browser on a fresh profile under the test's temporary folder.
fn launch_browser(chromium: &Path, name: &str) -> (Browser, Page, PathBuf) {
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("chromium-profile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let mut browser = Browser::launch(chromium, &profile).unwrap_or_else(|error| panic!("{error}"));
    let page = browser.new_page().unwrap_or_else(|error| panic!("{error}"));
    for domain in [
        "Page.enable",
        "Runtime.enable",
        "Log.enable",
        "Network.enable",
    ] {
        browser
            .call(Some(&page), domain, json!({}))
            .unwrap_or_else(|error| panic!("{error}"));
    }
    (browser, page, profile)
}

#[test]
fn the_book_works_in_a_real_browser() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let _one_browser_at_a_time = one_at_a_time();

    let root = workspace_root();
    let build_dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("book-build-{}", std::process::id()));
    let served = ServedBook::start(&root, None, &build_dir);
    let base_url = served.url.clone();

    let chapters = chapter_pages(&build_dir);
    assert!(
        chapters.iter().any(|chapter| chapter.diagrams > 0),
        "the book has no ```mermaid diagram: the browser test would check nothing ({chapters:?})"
    );
    assert!(
        chapters.iter().any(|chapter| chapter.quizzes > 0),
        "the book has no {{{{#quiz}}}}: the browser test would check nothing ({chapters:?})"
    );

    let (mut browser, page, profile) = launch_browser(&chromium, "book");

    let mut failures = Vec::new();

    // The URL `serve` prints leads to the first chapter.
    let front = browser
        .call(Some(&page), "Page.navigate", json!({ "url": base_url }))
        .and_then(|_| {
            browser.wait_for(
                &page,
                "location.pathname !== '/' && document.readyState === 'complete' \
                 && document.querySelector('#mdbook-content main h1') !== null",
                "the front page leads to the first chapter",
            )
        });
    if let Err(error) = front {
        failures.push(error);
    }
    failures.extend(errors_in(&browser.take_events(), "front page"));

    for chapter in &chapters {
        if let Err(error) = check_chapter(&mut browser, &page, &base_url, chapter) {
            failures.push(error);
        }
        // Pictures of every diagram and of the first quiz of each chapter,
        // to look at when this test fails (or by hand):
        // target/tmp/browser-<chapter>-diagram-<n>.png, ...-quiz.png.
        let stem = chapter.path.trim_end_matches(".html").replace('/', "-");
        let mut pictures: Vec<(String, String)> = (0..chapter.diagrams)
            .map(|index| {
                (
                    format!("document.querySelectorAll('pre.mermaid')[{index}]"),
                    format!("{stem}-diagram-{}", index + 1),
                )
            })
            .collect();
        pictures.push((
            "document.querySelector('.quiz-placeholder')".into(),
            format!("{stem}-quiz"),
        ));
        for (element, name) in pictures {
            // The whole element, however tall, with a margin around it, and
            // without the sticky menu bar drawn over its top.
            let area = browser.evaluate(
                &page,
                &format!(
                    "(() => {{ const element = {element}; if (!element) return null; \
                     const bar = document.getElementById('mdbook-menu-bar'); \
                     if (bar) bar.style.visibility = 'hidden'; \
                     element.scrollIntoView(); const box = element.getBoundingClientRect(); \
                     return {{ x: Math.max(0, box.left + scrollX - 8), y: Math.max(0, box.top + scrollY - 8), \
                     width: box.width + 16, height: box.height + 16 }}; }})()"
                ),
            );
            if let Ok(area @ Value::Object(_)) = area
                && let Err(error) = screenshot(&mut browser, &page, &name, Some(area))
            {
                failures.push(error);
            }
        }
        let _ = browser.evaluate(
            &page,
            "document.getElementById('mdbook-menu-bar')?.style.removeProperty('visibility'), true",
        );
        failures.extend(errors_in(&browser.take_events(), &chapter.path));
    }

    if let Some(with_diagrams) = chapters.iter().find(|chapter| chapter.diagrams > 0) {
        let url = format!("{base_url}{}", with_diagrams.path);
        if let Err(error) = check_dark_theme(&mut browser, &page, &url, with_diagrams.diagrams) {
            failures.push(error);
        }
        failures.extend(errors_in(&browser.take_events(), "dark theme"));
    }

    if let Some(with_quiz) = chapters.iter().find(|chapter| chapter.quizzes > 0) {
        let url = format!("{base_url}{}", with_quiz.path);
        let with_diagrams = with_quiz.diagrams > 0;
        if let Err(error) = check_quiz_buttons(&mut browser, &page, &url, with_diagrams) {
            failures.push(error);
        }
        failures.extend(errors_in(&browser.take_events(), "quiz buttons"));
    }

    let search_start = &chapters[0].path;
    let searched = check_search(&mut browser, &page, &base_url, search_start)
        .and_then(|()| screenshot(&mut browser, &page, "search", None).map(|_| ()));
    if let Err(error) = searched {
        failures.push(error);
    }
    failures.extend(errors_in(&browser.take_events(), "search"));

    drop(browser);
    drop(served);
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_dir_all(&build_dir);
    assert!(
        failures.is_empty(),
        "what a reader would see is wrong:\n  {}",
        failures.join("\n  ")
    );
}

/// The width of a laptop screen, in CSS pixels, at which wide content is
/// checked.
const LAPTOP_WIDTH: u64 = 1280;

/// A sentence of the sample failure report on the welcome page that a
/// reader must see without scrolling sideways: the anomaly itself.
const REPORT_KEY_SENTENCE: &str = "its processing never took effect: it is lost.";

/// What is wrong with the wide content of the page, one line each: a `pre`
/// holding a failure report that scrolls sideways (its key sentence cut at
/// the edge), and table cells squeezed into a column too narrow for their
/// text: 40 characters or more in a column whose lines are under 8 em (a
/// word or two), or one word a line in a column under 12 em. A cell's
/// lines are the height of its text, not of the cell, which is as tall as
/// the tallest cell of its row, less the lines its own `<br>`s start.
const WIDE_CONTENT_PROBLEMS: &str = "(() => {\
       const problems = [];\
       for (const pre of document.querySelectorAll('main pre')) {\
         if (!pre.textContent.includes('FAILED (0 of')) continue;\
         for (const box of [pre, ...pre.querySelectorAll('code')]) {\
           if (box.scrollWidth > box.clientWidth + 1)\
             problems.push(`a failure report scrolls sideways: ${box.scrollWidth} px of text in ${box.clientWidth} px (it begins \"${pre.textContent.trim().slice(0, 40)}\")`);\
         }\
       }\
       document.querySelectorAll('main table').forEach((table, index) => {\
         for (const cell of table.querySelectorAll('td, th')) {\
           const words = cell.textContent.trim().split(/\\s+/).filter(Boolean).length;\
           if (words < 4) continue;\
           const style = getComputedStyle(cell);\
           const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;\
           const text = document.createRange();\
           text.selectNodeContents(cell);\
           const breaks = cell.querySelectorAll('br').length;\
           const lines = Math.round(text.getBoundingClientRect().height / line) - breaks;\
           const characters = cell.textContent.trim().length;\
           const measure = (cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)) / parseFloat(style.fontSize);\
           if ((characters >= 40 && measure < 8) || (lines >= words && measure < 12))\
             problems.push(`table ${index + 1}: a cell of ${words} words (${characters} characters) takes ${lines} lines ${measure.toFixed(1)} em wide (\"${cell.textContent.trim().slice(0, 40)}\")`);\
         }\
       });\
       return problems;\
     })()";

/// Wide content on a laptop screen: the welcome page's sample failure
/// report wraps, so its key sentence is in view without scrolling sideways,
/// and the configuration chapter's tables (four columns of defaults), like
/// every chapter's, either fit or scroll as a whole, never squeezing a
/// column to a word a line.
#[test]
fn wide_content_reads_on_a_laptop_screen() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let _one_browser_at_a_time = one_at_a_time();

    let root = workspace_root();
    let build_dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("wide-book-{}", std::process::id()));
    let served = ServedBook::start(&root, None, &build_dir);
    let (mut browser, page, profile) = launch_browser(&chromium, "wide");
    let mut failures = Vec::new();
    let sized = browser.call(
        Some(&page),
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": LAPTOP_WIDTH, "height": 800, "deviceScaleFactor": 1, "mobile": false }),
    );
    if let Err(error) = sized {
        failures.push(error);
    }
    // Each page, what must be on it, and the element to picture.
    let report = format!(
        "[...document.querySelectorAll('main pre')].find((pre) => pre.textContent.includes({}))",
        json!(REPORT_KEY_SENTENCE)
    );
    let widest_table = "[...document.querySelectorAll('main table')]\
         .sort((a, b) => b.querySelectorAll('th').length - a.querySelectorAll('th').length)[0]"
        .to_string();
    // The two pages the problem was seen on, with a picture of each; then
    // every other chapter, for the tables and reports they have.
    let mut pages: Vec<(String, Option<&str>, Option<String>)> = vec![
        (
            "welcome/index.html".into(),
            Some(REPORT_KEY_SENTENCE),
            Some(report),
        ),
        ("configuration/index.html".into(), None, Some(widest_table)),
    ];
    for chapter in chapter_pages(&build_dir) {
        if !pages.iter().any(|(path, _, _)| *path == chapter.path) {
            pages.push((chapter.path, None, None));
        }
    }
    for (path, must_show, pictured) in pages {
        let path = path.as_str();
        let url = format!("{}{path}", served.url);
        let checked = open(&mut browser, &page, &url)
            .and_then(|()| {
                // Guard against checking nothing: the report must be there.
                match must_show {
                    Some(sentence) => browser
                        .evaluate(
                            &page,
                            &format!(
                                "[...document.querySelectorAll('main pre')]\
                                 .some((pre) => pre.textContent.includes({}))",
                                json!(sentence)
                            ),
                        )
                        .and_then(|found| match found {
                            Value::Bool(true) => Ok(()),
                            _ => Err(format!("no report on the page says {sentence:?}")),
                        }),
                    None => Ok(()),
                }
            })
            .and_then(|()| browser.evaluate(&page, WIDE_CONTENT_PROBLEMS));
        match checked {
            Ok(Value::Array(problems)) => failures.extend(
                problems
                    .iter()
                    .map(|problem| format!("{path}: {}", problem.as_str().unwrap_or("?"))),
            ),
            Ok(other) => failures.push(format!("{path}: unexpected answer {other}")),
            Err(error) => failures.push(format!("{path}: {error}")),
        }
        // A picture of it, to look at by hand: target/tmp/browser-wide-*.png.
        let Some(pictured) = pictured else {
            failures.extend(errors_in(&browser.take_events(), path));
            continue;
        };
        let stem = path.trim_end_matches(".html").replace('/', "-");
        let area = browser.evaluate(
            &page,
            &format!(
                "(() => {{ const element = {pictured}; if (!element) return null; \
                 const box = element.getBoundingClientRect(); \
                 return {{ x: Math.max(0, box.left + scrollX - 8), y: Math.max(0, box.top + scrollY - 8), \
                 width: box.width + 16, height: box.height + 16 }}; }})()"
            ),
        );
        if let Ok(area @ Value::Object(_)) = area
            && let Err(error) = screenshot(&mut browser, &page, &format!("wide-{stem}"), Some(area))
        {
            failures.push(error);
        }
        failures.extend(errors_in(&browser.take_events(), path));
    }

    drop(browser);
    drop(served);
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_dir_all(&build_dir);
    assert!(
        failures.is_empty(),
        "at {LAPTOP_WIDTH} px, wide content is hard to read:\n  {}",
        failures.join("\n  ")
    );
}

/// `cargo xtask serve` rebuilds the book when a chapter is saved, and the
/// page open in the browser reloads by itself and shows the change. Run on
/// a copy of a small fixture book, so the test edits no file of the
/// repository.
#[test]
fn saving_a_chapter_reloads_the_open_page() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let _one_browser_at_a_time = one_at_a_time();

    let root = workspace_root();
    let book =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("reload-book-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&book);
    copy_dir(&root.join("tests/fixtures/book-smoke"), &book);
    let served = ServedBook::start(&root, Some(&book), &book.join("build"));
    let (mut browser, page, profile) = launch_browser(&chromium, "reload");

    let url = format!("{}chapter/index.html", served.url);
    let chapter = book.join("src/chapter/index.md");
    let outcome = open(&mut browser, &page, &url)
        // A mark that only this load of the page carries.
        .and_then(|()| browser.evaluate(&page, "window.loadedBeforeTheEdit = true"))
        .and_then(|_| {
            let text = std::fs::read_to_string(&chapter).map_err(|error| error.to_string())?;
            std::fs::write(&chapter, format!("{text}\nA sentence added while the page was open.\n"))
                .map_err(|error| error.to_string())
        })
        .and_then(|()| {
            browser.wait_for(
                &page,
                "window.loadedBeforeTheEdit === undefined && document.readyState === 'complete' \
                 && document.querySelector('main').textContent.includes('added while the page was open')",
                "the page reloads with the saved change",
            )
        });
    let errors = errors_in(&browser.take_events(), "reload");

    drop(browser);
    drop(served);
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_dir_all(&book);
    if let Err(error) = outcome {
        panic!("{error}");
    }
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|error| panic!("{}: {error}", to.display()));
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|error| panic!("{}: {error}", from.display()));
    for entry in entries.map_while(Result::ok) {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap_or_else(|error| {
                panic!("{} -> {}: {error}", path.display(), target.display())
            });
        }
    }
}

/// A diagram that does not parse is a bug in the book, and the reader must
/// not be left guessing: it keeps its source on the page, is marked, is
/// named in a console error (which fails the main test), and the diagrams
/// after it are still drawn. Mermaid's own "Syntax error" picture must not
/// be left at the bottom of the page either. Run on a small book written
/// here, with the workshop's own mermaid scripts.
#[test]
fn a_diagram_that_does_not_parse_is_reported_and_the_others_still_drawn() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let _one_browser_at_a_time = one_at_a_time();

    let root = workspace_root();
    let book = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("broken-diagram-book-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&book);
    let diagram = |body: &str| format!("```mermaid\nsequenceDiagram\n  {body}\n```\n\n");
    let files = [
        (
            "book.toml",
            "[book]\ntitle = \"Diagrams\"\n[build]\nbuild-dir = \"build\"\n\
             [output.html]\nadditional-js = [\"mermaid.min.js\", \"mermaid-init.js\"]\n"
                .to_string(),
        ),
        (
            "src/SUMMARY.md",
            "# Summary\n\n- [Chapter](chapter/index.md)\n".to_string(),
        ),
        (
            "src/chapter/index.md",
            format!(
                "# Chapter\n\n{}{}{}",
                diagram("Broker->>Consumer: deliver"),
                diagram("Broker-->>>>Consumer: not mermaid ("),
                diagram("Consumer->>Broker: complete"),
            ),
        ),
    ];
    for (path, text) in &files {
        let path = book.join(path);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    for script in ["mermaid/mermaid.min.js", "mermaid-init.js"] {
        let name = Path::new(script).file_name().expect("a file name");
        std::fs::copy(root.join("book/assets").join(script), book.join(name))
            .unwrap_or_else(|error| panic!("{script}: {error}"));
    }

    let served = ServedBook::start(&root, Some(&book), &book.join("build"));
    let (mut browser, page, profile) = launch_browser(&chromium, "broken-diagram");
    let url = format!("{}chapter/index.html", served.url);
    let outcome = open(&mut browser, &page, &url)
        .and_then(|()| {
            browser.wait_for(
                &page,
                "document.querySelectorAll('pre.mermaid > svg, pre.mermaid[data-mermaid-error]').length === 3",
                "every diagram drawn or marked",
            )
        })
        .and_then(|()| {
            browser.evaluate(
                &page,
                "(() => {\
                   const diagrams = [...document.querySelectorAll('pre.mermaid')];\
                   return {\
                     drawn: diagrams.map((diagram) => diagram.querySelector(':scope > svg') !== null),\
                     marked: diagrams.map((diagram) => diagram.dataset.mermaidError !== undefined),\
                     sourceShown: diagrams[1].textContent.includes('not mermaid'),\
                     svgsOutsideDiagrams: [...document.querySelectorAll('svg')]\
                       .filter((svg) => svg.closest('pre.mermaid') === null && /mermaid/.test(svg.id)).length,\
                     errorPictures: document.querySelectorAll('svg[aria-roledescription=error]').length,\
                   };\
                 })()",
            )
        });
    let errors = errors_in(&browser.take_events(), "broken diagram");

    drop(browser);
    drop(served);
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_dir_all(&book);
    let seen = outcome.unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        seen,
        json!({
            "drawn": [true, false, true],
            "marked": [false, true, false],
            "sourceShown": true,
            "svgsOutsideDiagrams": 0,
            "errorPictures": 0,
        }),
        "what a reader sees of a broken diagram"
    );
    assert!(
        errors.len() == 1 && errors[0].contains("diagram 2 of this page does not render"),
        "one console error naming the diagram: {errors:#?}"
    );
}
