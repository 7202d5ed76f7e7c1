//! Splits a query into tokens. String literals and comments are settled here, once, so that a `|`
//! or `//` inside a string is never taken for a pipe or a comment, and a comment (trailing, or on
//! its own line before `| limit 5`) never reaches the parser.

use jiff::SignedDuration;

use super::KqlError;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum TokenKind {
    Ident(String),
    /// `!has`, `!contains`, `!in`, ...: a negated operator written with a leading `!`.
    NegatedIdent(String),
    Str(String),
    Long(i64),
    Real(f64),
    Timespan(SignedDuration),
    /// The raw text between the parentheses of `datetime(...)`.
    DateTime(String),
    Pipe,
    LeftParen,
    RightParen,
    Comma,
    Semicolon,
    Assign,
    Equal,
    NotEqual,
    EqualNoCase,
    NotEqualNoCase,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Minus,
    End,
}

#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(super) kind: TokenKind,
    /// The source text of the token, quoted back in syntax errors.
    pub(super) text: String,
    pub(super) line: usize,
    pub(super) column: usize,
}

impl Token {
    pub(super) fn syntax_error(&self) -> KqlError {
        KqlError::Syntax {
            near: self.text.clone(),
            line: self.line,
            column: self.column,
        }
    }
}

/// Timespan suffixes (<https://learn.microsoft.com/kusto/query/scalar-data-types/timespan>).
fn timespan(amount: f64, unit: &str) -> Option<SignedDuration> {
    let nanos_per_unit = match unit {
        "d" | "day" | "days" => 86_400e9,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600e9,
        "m" | "min" | "minute" | "minutes" => 60e9,
        "s" | "sec" | "second" | "seconds" => 1e9,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1e6,
        "microsecond" | "microseconds" => 1e3,
        "tick" | "ticks" => 100.0,
        _ => return None,
    };
    let nanos = amount * nanos_per_unit;
    nanos
        .is_finite()
        .then(|| SignedDuration::from_nanos(nanos as i64))
}

struct Cursor {
    chars: Vec<char>,
    position: usize,
    line: usize,
    column: usize,
    tokens: Vec<Token>,
}

impl Cursor {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.position + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let character = self.peek(0)?;
        self.position += 1;
        if character == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(character)
    }

    fn error_here(&self) -> KqlError {
        let near: String = self.chars[self.position..]
            .iter()
            .take_while(|c| !c.is_whitespace())
            .collect();
        KqlError::Syntax {
            near,
            line: self.line,
            column: self.column,
        }
    }

    fn push(&mut self, kind: TokenKind, start: usize, line: usize, column: usize) {
        let text: String = self.chars[start..self.position].iter().collect();
        self.tokens.push(Token {
            kind,
            text,
            line,
            column,
        });
    }

    fn identifier(&mut self) -> String {
        let mut name = String::new();
        while let Some(character) = self
            .peek(0)
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            name.push(character);
            self.bump();
        }
        name
    }

    fn string(&mut self, quote: char, verbatim: bool) -> Result<String, KqlError> {
        let mut value = String::new();
        loop {
            let Some(character) = self.bump() else {
                return Err(KqlError::Syntax {
                    near: "<unterminated string>".into(),
                    line: self.line,
                    column: self.column,
                });
            };
            match character {
                c if c == quote && verbatim && self.peek(0) == Some(quote) => {
                    self.bump();
                    value.push(quote);
                }
                c if c == quote => return Ok(value),
                '\\' if !verbatim => {
                    let escaped = self.bump().ok_or_else(|| self.error_here())?;
                    value.push(match escaped {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        other => other,
                    });
                }
                '\n' if !verbatim => return Err(self.error_here()),
                other => value.push(other),
            }
        }
    }

    fn number(&mut self) -> Result<TokenKind, KqlError> {
        let (start, line, column) = (self.position, self.line, self.column);
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        let mut real = false;
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            real = true;
            self.bump();
            while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        let digits: String = self.chars[start..self.position].iter().collect();
        let unit = self.identifier();
        if unit.is_empty() {
            return if real {
                digits
                    .parse()
                    .map(TokenKind::Real)
                    .map_err(|_| self.error_here())
            } else {
                digits
                    .parse()
                    .map(TokenKind::Long)
                    .map_err(|_| self.error_here())
            };
        }
        let amount: f64 = digits.parse().map_err(|_| self.error_here())?;
        timespan(amount, &unit)
            .map(TokenKind::Timespan)
            .ok_or_else(|| KqlError::Syntax {
                near: self.chars[start..self.position].iter().collect(),
                line,
                column,
            })
    }
}

pub(super) fn tokenize(source: &str) -> Result<Vec<Token>, KqlError> {
    let mut cursor = Cursor {
        chars: source.chars().collect(),
        position: 0,
        line: 1,
        column: 1,
        tokens: Vec::new(),
    };
    while let Some(character) = cursor.peek(0) {
        let (start, line, column) = (cursor.position, cursor.line, cursor.column);
        if character.is_whitespace() {
            cursor.bump();
            continue;
        }
        if character == '/' && cursor.peek(1) == Some('/') {
            while cursor.peek(0).is_some_and(|c| c != '\n') {
                cursor.bump();
            }
            continue;
        }
        let kind = match character {
            '\'' | '"' => {
                cursor.bump();
                TokenKind::Str(cursor.string(character, false)?)
            }
            '@' if matches!(cursor.peek(1), Some('\'' | '"')) => {
                cursor.bump();
                let quote = cursor.bump().expect("peeked");
                TokenKind::Str(cursor.string(quote, true)?)
            }
            c if c.is_ascii_digit() => cursor.number()?,
            c if c.is_ascii_alphabetic() || c == '_' => {
                let name = cursor.identifier();
                let mut lookahead = 0;
                while cursor.peek(lookahead).is_some_and(char::is_whitespace) {
                    lookahead += 1;
                }
                if name == "datetime" && cursor.peek(lookahead) == Some('(') {
                    for _ in 0..=lookahead {
                        cursor.bump();
                    }
                    let mut raw = String::new();
                    loop {
                        match cursor.bump() {
                            Some(')') => break,
                            Some(c) => raw.push(c),
                            None => return Err(cursor.error_here()),
                        }
                    }
                    TokenKind::DateTime(raw.trim().to_owned())
                } else {
                    TokenKind::Ident(name)
                }
            }
            '!' => {
                cursor.bump();
                match cursor.peek(0) {
                    Some('=') => {
                        cursor.bump();
                        TokenKind::NotEqual
                    }
                    Some('~') => {
                        cursor.bump();
                        TokenKind::NotEqualNoCase
                    }
                    Some(c) if c.is_ascii_alphabetic() => {
                        TokenKind::NegatedIdent(cursor.identifier())
                    }
                    _ => return Err(cursor.error_here()),
                }
            }
            '=' => {
                cursor.bump();
                match cursor.peek(0) {
                    Some('=') => {
                        cursor.bump();
                        TokenKind::Equal
                    }
                    Some('~') => {
                        cursor.bump();
                        TokenKind::EqualNoCase
                    }
                    _ => TokenKind::Assign,
                }
            }
            '<' | '>' => {
                cursor.bump();
                let or_equal = cursor.peek(0) == Some('=');
                if or_equal {
                    cursor.bump();
                }
                match (character, or_equal) {
                    ('<', false) => TokenKind::Less,
                    ('<', true) => TokenKind::LessOrEqual,
                    (_, false) => TokenKind::Greater,
                    (_, true) => TokenKind::GreaterOrEqual,
                }
            }
            '|' | '(' | ')' | ',' | ';' | '-' => {
                cursor.bump();
                match character {
                    '|' => TokenKind::Pipe,
                    '(' => TokenKind::LeftParen,
                    ')' => TokenKind::RightParen,
                    ',' => TokenKind::Comma,
                    ';' => TokenKind::Semicolon,
                    _ => TokenKind::Minus,
                }
            }
            _ => return Err(cursor.error_here()),
        };
        cursor.push(kind, start, line, column);
    }
    let (line, column) = (cursor.line, cursor.column);
    cursor.tokens.push(Token {
        kind: TokenKind::End,
        text: "<end of query>".into(),
        line,
        column,
    });
    Ok(cursor.tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<TokenKind> {
        tokenize(source)
            .unwrap()
            .into_iter()
            .map(|token| token.kind)
            .collect()
    }

    #[test]
    fn pipes_and_slashes_inside_strings_are_text() {
        assert_eq!(
            kinds("T | where A == 'a|b // c' // trailing\n| limit 5"),
            vec![
                TokenKind::Ident("T".into()),
                TokenKind::Pipe,
                TokenKind::Ident("where".into()),
                TokenKind::Ident("A".into()),
                TokenKind::Equal,
                TokenKind::Str("a|b // c".into()),
                TokenKind::Pipe,
                TokenKind::Ident("limit".into()),
                TokenKind::Long(5),
                TokenKind::End,
            ]
        );
    }

    #[test]
    fn escapes_verbatim_strings_timespans_and_datetimes() {
        assert_eq!(
            kinds(r#""say \"hi\"""#)[0],
            TokenKind::Str("say \"hi\"".into())
        );
        assert_eq!(kinds(r"@'C:\Temp'")[0], TokenKind::Str(r"C:\Temp".into()));
        assert_eq!(
            kinds("1d")[0],
            TokenKind::Timespan(SignedDuration::from_hours(24))
        );
        assert_eq!(
            kinds("90m")[0],
            TokenKind::Timespan(SignedDuration::from_mins(90))
        );
        assert_eq!(
            kinds("datetime(2025-01-01 10:00)")[0],
            TokenKind::DateTime("2025-01-01 10:00".into())
        );
        assert_eq!(kinds("!has")[0], TokenKind::NegatedIdent("has".into()));
    }

    #[test]
    fn reports_where_it_stopped() {
        let error = tokenize("T\n| where A == 'open").unwrap_err();
        assert!(matches!(error, KqlError::Syntax { .. }));
        assert!(
            matches!(tokenize("T | where A # 1").unwrap_err(), KqlError::Syntax { near, line: 1, column: 13 } if near == "#")
        );
    }
}
