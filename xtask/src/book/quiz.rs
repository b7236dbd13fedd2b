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
    /// Where the options' lengths give the answer away ([`balance_problems`]).
    /// Not an error for the build: `verify` and `book --check` report them.
    pub balance: Vec<String>,
}

/// At most this share of a quiz's multiple-choice questions may have the
/// right answer as their longest option. Writers qualify the right answer
/// ("..., unless ...") and leave distractors bare, so "pick the longest" wins
/// far more often than chance (a new learner found it right in 12 of 14
/// questions). With three distractors, a random order of lengths makes the
/// answer the longest one time in four; a third leaves room for the
/// occasional answer that needs its clause, and keeps the trick near chance.
pub const MAX_SHARE_LONGEST: f64 = 1.0 / 3.0;

/// The right answer may be at most this much longer than the longest
/// distractor. At the lengths these options have (60 to 160 characters) a
/// quarter is one extra clause, about what a reader can take for style; past
/// it, the extra qualification is itself the tell.
pub const MAX_LENGTH_RATIO: f64 = 1.25;

/// The length a reader sees: characters, without Markdown's code and emphasis
/// marks.
fn shown_length(markdown: &str) -> usize {
    markdown
        .chars()
        .filter(|c| !matches!(c, '`' | '*' | '_'))
        .count()
}

/// The ways a quiz's option lengths give its answers away: a right answer
/// longer than [`MAX_LENGTH_RATIO`] times its longest distractor, and right
/// answers that are the longest option in more than [`MAX_SHARE_LONGEST`] of
/// the multiple-choice questions.
pub fn balance_problems(quiz: &Quiz) -> Vec<String> {
    let mut problems = Vec::new();
    let mut questions = 0;
    let mut longest = Vec::new();
    for (index, question) in quiz.questions.iter().enumerate() {
        let Question::MultipleChoice(MultipleChoice(fields)) = question else {
            continue;
        };
        let MultipleChoiceAnswerFormat::Single(answer) = &fields.answer.answer else {
            continue;
        };
        let Some(distractor) = fields
            .prompt
            .distractors
            .iter()
            .map(|distractor| shown_length(&distractor.0))
            .max()
        else {
            continue;
        };
        questions += 1;
        let answer = shown_length(&answer.0);
        if answer > distractor {
            longest.push(index + 1);
        }
        let ratio = answer as f64 / distractor.max(1) as f64;
        if ratio > MAX_LENGTH_RATIO {
            problems.push(format!(
                "question {}: the right answer has {answer} characters, {ratio:.2} times its \
                 longest distractor ({distractor}); at most {MAX_LENGTH_RATIO} keeps its length \
                 from giving it away",
                index + 1
            ));
        }
    }
    let allowed = (questions as f64 * MAX_SHARE_LONGEST).floor() as usize;
    if longest.len() > allowed {
        problems.push(format!(
            "the right answer is the longest option in {} of {questions} multiple-choice \
             questions ({}); at most {allowed} may be, or \"pick the longest\" beats reading",
            longest.len(),
            longest
                .iter()
                .map(|number| format!("question {number}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    problems
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
        balance: balance_problems(&quiz),
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

    fn multiple_choice(answer: &str, distractors: &[&str]) -> String {
        let quoted: Vec<String> = distractors.iter().map(|d| format!("{d:?}")).collect();
        format!(
            "[[questions]]\ntype = \"MultipleChoice\"\nprompt.prompt = \"?\"\n\
             prompt.distractors = [{}]\nanswer.answer = {answer:?}\n",
            quoted.join(", ")
        )
    }

    #[test]
    fn answers_that_stand_out_by_length_are_reported() {
        let balanced = [
            multiple_choice("a b c d e f", &["a b c d e", "a b c d e f g"]),
            multiple_choice("a b c", &["a b c d", "a b"]),
            multiple_choice("a b c d e", &["a b c d e f", "a b"]),
        ]
        .concat();
        let quiz = parse_quiz(&balanced, Path::new("q.toml")).expect("valid");
        assert_eq!(quiz.balance, Vec::<String>::new());

        // The answer longest in two of three questions: more than a third.
        let longest_twice = [
            multiple_choice("a b c d e f", &["a b c d e", "a b c"]),
            multiple_choice("a b c d e", &["a b c de", "a b"]),
            multiple_choice("a b c d e", &["a b c", "a b c d e f g"]),
        ]
        .concat();
        let quiz = parse_quiz(&longest_twice, Path::new("q.toml")).expect("valid");
        assert_eq!(quiz.balance.len(), 1, "{:?}", quiz.balance);
        assert!(
            quiz.balance[0].contains("longest option in 2 of 3")
                && quiz.balance[0].contains("question 1, question 2"),
            "{:?}",
            quiz.balance
        );

        // Half as long again as every distractor: too long, whatever the share.
        let standing_out = [
            multiple_choice("`abcdefghijklmno`", &["abcdefghij", "abc"]),
            multiple_choice("a", &["a b c", "a b"]),
            multiple_choice("a", &["a b c", "a b"]),
        ]
        .concat();
        let quiz = parse_quiz(&standing_out, Path::new("q.toml")).expect("valid");
        assert_eq!(quiz.balance.len(), 1, "{:?}", quiz.balance);
        assert!(
            quiz.balance[0]
                .starts_with("question 1: the right answer has 15 characters, 1.50 times")
        );
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
