//! The `{{#quiz path.toml}}` directive: interactive quizzes, in-process.
//!
//! The quiz files use mdbook-quiz's TOML format (parsed with its own schema
//! crate, `mdbook-quiz-schema`), and a directive becomes the same placeholder
//! element that mdbook-quiz writes, which the vendored mdbook-quiz front end
//! (`book/assets/quiz/`) mounts in the browser.
//!
//! Why not run mdbook-quiz itself: it is a binary crate only, so it could only
//! run as a separate program that every learner would have to install.
//!
//! ```toml
//! [[questions]]
//! type = "MultipleChoice"
//! prompt.prompt = "When does peek-lock remove a message from the queue?"
//! prompt.distractors = ["When it is received", "When the lock expires"]
//! answer.answer = "When the receiver completes it"
//! context = "Receiving only locks it; `complete` is the ack."
//! ```

use std::collections::{HashMap, HashSet};

use serde::Deserialize as _;
use std::path::{Path, PathBuf};

use mdbook_preprocessor::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use mdbook_quiz_schema::{
    MultipleChoice, MultipleChoiceAnswerFormat, Question, QuestionFields, Quiz, ShortAnswer,
};

/// The directive's opening; the path runs to the closing `}}`.
const OPENING: &str = "{{#quiz ";
const CLOSING: &str = "}}";

/// Why a quiz file cannot be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum QuizError {
    #[error("{path}: cannot read the quiz file: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a quiz in mdbook-quiz's format: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{path}: question {question}: {problem}")]
    Invalid {
        path: PathBuf,
        /// 1-based, in file order.
        question: usize,
        problem: String,
    },
    #[error("{path}: the quiz has no questions")]
    Empty { path: PathBuf },
    #[error("{chapter}: `{{{{#quiz` directive without a closing `}}}}`")]
    Unclosed { chapter: PathBuf },
}

/// A quiz file that parsed and passed the checks, ready for the page.
pub struct ParsedQuiz {
    /// The file's TOML as JSON, as written (the front end reads the camelCase
    /// keys exactly as in the file, and absent keys must stay absent).
    pub questions_json: serde_json::Value,
    /// The question ids the file sets (ids are optional).
    pub ids: Vec<String>,
}

/// Reads and checks one quiz file.
pub fn parse_quiz_file(path: &Path) -> Result<ParsedQuiz, QuizError> {
    let text = std::fs::read_to_string(path).map_err(|source| QuizError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_quiz(&text, path)
}

/// Parses quiz text; `path` is only used in error messages.
pub fn parse_quiz(text: &str, path: &Path) -> Result<ParsedQuiz, QuizError> {
    let parse_error = |source| QuizError::Parse {
        path: path.to_path_buf(),
        source: Box::new(source),
    };
    let table: toml::Table = toml::from_str(text).map_err(parse_error)?;
    // Each question on its own first, so that a missing or misspelt key is
    // reported with the question's number rather than "line 1".
    if let Some(toml::Value::Array(questions)) = table.get("questions") {
        for (index, question) in questions.iter().enumerate() {
            if let Err(error) = Question::deserialize(question.clone()) {
                return Err(QuizError::Invalid {
                    path: path.to_path_buf(),
                    question: index + 1,
                    problem: error.message().to_string(),
                });
            }
        }
    }
    let quiz: Quiz = toml::from_str(text).map_err(parse_error)?;
    if quiz.questions.is_empty() {
        return Err(QuizError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut ids = Vec::new();
    for (index, question) in quiz.questions.iter().enumerate() {
        let invalid = |problem: String| QuizError::Invalid {
            path: path.to_path_buf(),
            question: index + 1,
            problem,
        };
        check_question(question, quiz.multipart.as_ref()).map_err(invalid)?;
        if let Some(id) = question_fields_id(question) {
            if ids.contains(&id) {
                return Err(invalid(format!("the id `{id}` is used twice in this file")));
            }
            ids.push(id);
        }
    }
    let questions_json = serde_json::to_value(&table).map_err(|error| QuizError::Invalid {
        path: path.to_path_buf(),
        question: 0,
        problem: format!("cannot be turned into JSON: {error}"),
    })?;
    Ok(ParsedQuiz {
        questions_json,
        ids,
    })
}

fn question_fields_id(question: &Question) -> Option<String> {
    match question {
        Question::ShortAnswer(ShortAnswer(fields)) => fields.id.clone(),
        Question::MultipleChoice(MultipleChoice(fields)) => fields.id.clone(),
        Question::Tracing(mdbook_quiz_schema::Tracing(fields)) => fields.id.clone(),
    }
}

/// The checks the schema cannot express: the mistakes that would give a
/// reader a quiz with no right answer, or one that gives itself away.
fn check_question(
    question: &Question,
    multipart: Option<&HashMap<String, mdbook_quiz_schema::Markdown>>,
) -> Result<(), String> {
    fn common<P, A>(
        fields: &QuestionFields<P, A>,
        multipart: Option<&HashMap<String, mdbook_quiz_schema::Markdown>>,
    ) -> Result<(), String> {
        if let Some(part) = &fields.multipart
            && !multipart.is_some_and(|parts| parts.contains_key(part))
        {
            return Err(format!(
                "`multipart = \"{part}\"` but the quiz has no `[multipart]` entry `{part}`"
            ));
        }
        Ok(())
    }
    match question {
        Question::MultipleChoice(MultipleChoice(fields)) => {
            common(fields, multipart)?;
            let prompt = &fields.prompt;
            if prompt.prompt.0.trim().is_empty() {
                return Err("the prompt is empty".into());
            }
            let answers: Vec<&str> = match &fields.answer.answer {
                MultipleChoiceAnswerFormat::Single(answer) => vec![answer.0.as_str()],
                MultipleChoiceAnswerFormat::Multi(answers) => {
                    answers.iter().map(|answer| answer.0.as_str()).collect()
                }
            };
            if answers.is_empty() || answers.iter().any(|answer| answer.trim().is_empty()) {
                return Err("a multiple-choice question needs a non-empty `answer.answer`".into());
            }
            if prompt.distractors.is_empty() {
                return Err("a multiple-choice question needs `prompt.distractors`".into());
            }
            if let Some(same) = prompt
                .distractors
                .iter()
                .find(|distractor| answers.contains(&distractor.0.as_str()))
            {
                return Err(format!("`{}` is both an answer and a distractor", same.0));
            }
            if let Some(index) = prompt.answer_index
                && index > prompt.distractors.len()
            {
                return Err(format!(
                    "`prompt.answerIndex = {index}` is past the last choice (there are {})",
                    prompt.distractors.len() + 1
                ));
            }
            if prompt.answer_index.is_some() && prompt.sort_answers.is_some() {
                return Err("use `prompt.answerIndex` or `prompt.sortAnswers`, not both".into());
            }
            Ok(())
        }
        Question::ShortAnswer(ShortAnswer(fields)) => {
            common(fields, multipart)?;
            if fields.prompt.prompt.0.trim().is_empty() {
                return Err("the prompt is empty".into());
            }
            if fields.answer.answer.trim().is_empty() {
                return Err("a short-answer question needs a non-empty `answer.answer`".into());
            }
            Ok(())
        }
        Question::Tracing(mdbook_quiz_schema::Tracing(fields)) => {
            common(fields, multipart)?;
            if fields.prompt.program.trim().is_empty() {
                return Err("a tracing question needs `prompt.program`".into());
            }
            Ok(())
        }
    }
}

/// A `{{#quiz ...}}` directive found in a chapter.
#[derive(Debug, PartialEq)]
pub struct Directive {
    /// Byte range of the whole directive in the chapter text.
    pub range: std::ops::Range<usize>,
    /// The path as written, relative to the chapter's folder.
    pub path: String,
}

/// Finds the directives of a chapter. `\{{#quiz x}}` is an escaped directive
/// (to write about one) and is skipped, as mdBook does for `\{{#include}}`.
pub fn find_directives(content: &str, chapter: &Path) -> Result<Vec<Directive>, QuizError> {
    let mut directives = Vec::new();
    let mut from = 0;
    while let Some(offset) = content[from..].find(OPENING) {
        let start = from + offset;
        let after_opening = start + OPENING.len();
        let Some(length) = content[after_opening..].find(CLOSING) else {
            return Err(QuizError::Unclosed {
                chapter: chapter.to_path_buf(),
            });
        };
        let end = after_opening + length + CLOSING.len();
        if !content[..start].ends_with('\\') {
            directives.push(Directive {
                range: start..end,
                path: content[after_opening..after_opening + length]
                    .trim()
                    .to_string(),
            });
        }
        from = end;
    }
    Ok(directives)
}

/// The placeholder element the mdbook-quiz front end mounts a quiz on. The
/// data attributes hold JSON, as mdbook-quiz writes them.
fn placeholder(name: &str, quiz: &ParsedQuiz) -> String {
    let name_json = serde_json::Value::String(name.to_string()).to_string();
    format!(
        "\n\n<div class=\"quiz-placeholder\" data-quiz-name=\"{}\" data-quiz-questions=\"{}\"></div>\n\n",
        escape_attribute(&name_json),
        escape_attribute(&quiz.questions_json.to_string()),
    )
}

fn escape_attribute(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// The in-process preprocessor for `{{#quiz path.toml}}`.
pub struct QuizPreprocessor;

impl Preprocessor for QuizPreprocessor {
    fn name(&self) -> &str {
        "quiz"
    }

    fn run(
        &self,
        ctx: &PreprocessorContext,
        mut book: Book,
    ) -> mdbook_preprocessor::errors::Result<Book> {
        let src_dir = ctx.root.join(&ctx.config.book.src);
        let mut seen_ids = HashSet::new();
        let mut first_error = None;
        book.for_each_mut(|item| {
            if first_error.is_some() {
                return;
            }
            let BookItem::Chapter(chapter) = item else {
                return;
            };
            let Some(chapter_path) = &chapter.path else {
                return;
            };
            match expand_chapter(&src_dir, chapter_path, &chapter.content, &mut seen_ids) {
                Ok(Some(content)) => chapter.content = content,
                Ok(None) => {}
                Err(error) => first_error = Some(error),
            }
        });
        match first_error {
            Some(error) => Err(error),
            None => Ok(book),
        }
    }

    fn supports_renderer(&self, renderer: &str) -> mdbook_preprocessor::errors::Result<bool> {
        Ok(renderer == "html")
    }
}

/// Replaces the directives of one chapter; `None` if it has none.
fn expand_chapter(
    src_dir: &Path,
    chapter_path: &Path,
    content: &str,
    seen_ids: &mut HashSet<String>,
) -> anyhow::Result<Option<String>> {
    let chapter_file = src_dir.join(chapter_path);
    let directives = find_directives(content, &chapter_file)?;
    if directives.is_empty() {
        return Ok(None);
    }
    let chapter_dir = chapter_path.parent().unwrap_or(Path::new(""));
    let mut expanded = String::with_capacity(content.len());
    let mut copied_up_to = 0;
    for directive in directives {
        let quiz_path = src_dir.join(chapter_dir).join(&directive.path);
        let quiz = parse_quiz_file(&quiz_path).map_err(|error| {
            anyhow::anyhow!(
                "{}: `{{{{#quiz {}}}}}`: {error}",
                chapter_file.display(),
                directive.path
            )
        })?;
        for id in &quiz.ids {
            if !seen_ids.insert(id.clone()) {
                anyhow::bail!(
                    "{}: the question id `{id}` is used by another quiz of the book",
                    quiz_path.display()
                );
            }
        }
        // The name keys the answers the front end caches, so it must be
        // unique in the book: the quiz's path without extension.
        let name = chapter_dir.join(&directive.path).with_extension("");
        expanded.push_str(&content[copied_up_to..directive.range.start]);
        expanded.push_str(&placeholder(&name.to_string_lossy(), &quiz));
        copied_up_to = directive.range.end;
    }
    expanded.push_str(&content[copied_up_to..]);
    Ok(Some(expanded))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[questions]]
type = "MultipleChoice"
prompt.prompt = "When is a peek-locked message removed?"
prompt.distractors = ["On receive", "When the lock expires"]
answer.answer = "On complete"
context = "Receive only locks it."

[[questions]]
type = "ShortAnswer"
prompt.prompt = "The Kafka name for settling a message?"
answer.answer = "commit"
"#;

    #[test]
    fn a_quiz_in_mdbook_quiz_format_parses_and_keeps_its_keys() {
        let quiz = parse_quiz(GOOD, Path::new("q.toml")).expect("valid quiz");
        let first = &quiz.questions_json["questions"][0];
        assert_eq!(first["type"], "MultipleChoice");
        assert_eq!(first["prompt"]["distractors"][1], "When the lock expires");
        // Absent optional keys stay absent: the front end tests for undefined.
        assert!(first.get("id").is_none());
    }

    #[test]
    fn a_misspelt_key_is_an_error_naming_the_file() {
        let text = GOOD.replace("prompt.distractors", "prompt.distractor");
        let error = parse_quiz(&text, Path::new("book/src/x/quiz.toml"))
            .err()
            .expect("must fail");
        let message = error.to_string();
        assert!(message.starts_with("book/src/x/quiz.toml: "), "{message}");
        assert!(message.contains("distractors"), "{message}");
    }

    #[test]
    fn an_answer_that_is_also_a_distractor_is_rejected() {
        let text = GOOD.replace("\"On receive\"", "\"On complete\"");
        let error = parse_quiz(&text, Path::new("q.toml"))
            .err()
            .expect("must fail");
        assert!(
            matches!(error, QuizError::Invalid { question: 1, .. }),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_multipart_key_is_rejected() {
        let text = GOOD.replace("context = ", "multipart = \"a\"\ncontext = ");
        let error = parse_quiz(&text, Path::new("q.toml"))
            .err()
            .expect("must fail");
        assert!(error.to_string().contains("multipart"), "{error}");
    }

    #[test]
    fn directives_are_found_and_escaped_ones_skipped() {
        let content = "a\n{{#quiz quiz.toml}}\nb \\{{#quiz not.toml}} c";
        let found = find_directives(content, Path::new("c.md")).expect("closed");
        assert_eq!(
            found,
            vec![Directive {
                range: 2..21,
                path: "quiz.toml".into()
            }]
        );
        assert!(find_directives("{{#quiz x.toml", Path::new("c.md")).is_err());
    }

    #[test]
    fn the_placeholder_escapes_its_json() {
        let quiz = parse_quiz(
            &GOOD.replace("On complete", "On \\\"complete\\\" <now> & then"),
            Path::new("q.toml"),
        )
        .expect("valid");
        let html = placeholder("configuration/quiz", &quiz);
        assert!(html.contains("data-quiz-name=\"&quot;configuration/quiz&quot;\""));
        assert!(html.contains("On \\&quot;complete\\&quot; &lt;now&gt; &amp; then"));
    }
}
