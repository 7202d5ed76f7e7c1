//! Turns tokens into the query's syntax tree: `let` statements, then one tabular expression (a
//! table followed by piped operators), with scalar expressions inside `where`. Names are not
//! resolved here; the evaluator checks them against the tables so that it can tell an unknown
//! column from a typo in the syntax, as Kusto's two kinds of error do.

use super::KqlError;
use super::eval::Value;
use super::lexer::{Token, TokenKind};

/// A table, column, function or `let` name.
pub(super) type Name = String;

#[derive(Debug)]
pub(super) struct Query {
    pub(super) lets: Vec<(Name, LetValue)>,
    pub(super) result: Tabular,
}

#[derive(Debug)]
pub(super) enum LetValue {
    Tabular(Tabular),
    Scalar(Expr),
}

#[derive(Debug)]
pub(super) struct Tabular {
    pub(super) source: Name,
    pub(super) operators: Vec<Operator>,
}

#[derive(Debug)]
pub(super) enum Operator {
    Where(Expr),
    Project(Vec<Name>),
    Take(Expr),
    Top {
        count: Expr,
        by: Name,
        descending: bool,
    },
    Sort(Vec<(Name, bool)>),
    Count,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CompareOp {
    Equal,
    NotEqual,
    EqualNoCase,
    NotEqualNoCase,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Has,
    NotHas,
    Contains,
    NotContains,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
}

#[derive(Debug)]
pub(super) enum Expr {
    Name(Name),
    Literal(Value),
    /// `datetime(...)`: parsed by the evaluator, which knows the accepted formats.
    DateTime {
        text: String,
        token: Token,
    },
    Call {
        name: Name,
        args: Vec<Expr>,
    },
    Compare {
        op: CompareOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    In {
        negated: bool,
        left: Box<Expr>,
        list: Vec<Expr>,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

struct Parser<'a> {
    tokens: &'a [Token],
    position: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &'a Token {
        &self.tokens[self.position.min(self.tokens.len() - 1)]
    }

    fn peek_kind(&self) -> &'a TokenKind {
        &self.peek().kind
    }

    fn next(&mut self) -> &'a Token {
        let token = self.peek();
        if token.kind != TokenKind::End {
            self.position += 1;
        }
        token
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek_kind(), TokenKind::Ident(name) if name == keyword)
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.is_keyword(keyword);
        if found {
            self.position += 1;
        }
        found
    }

    fn expect(&mut self, kind: &TokenKind) -> Result<(), KqlError> {
        if self.peek_kind() == kind {
            self.position += 1;
            Ok(())
        } else {
            Err(self.peek().syntax_error())
        }
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<(), KqlError> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(self.peek().syntax_error())
        }
    }

    fn name(&mut self) -> Result<Name, KqlError> {
        let token = self.peek();
        match &token.kind {
            TokenKind::Ident(text) => {
                self.position += 1;
                Ok(text.clone())
            }
            _ => Err(token.syntax_error()),
        }
    }

    fn query(&mut self) -> Result<Query, KqlError> {
        let mut lets = Vec::new();
        while self.eat_keyword("let") {
            let name = self.name()?;
            self.expect(&TokenKind::Assign)?;
            let value = if matches!(self.peek_kind(), TokenKind::Ident(_))
                && self
                    .tokens
                    .get(self.position + 1)
                    .is_some_and(|token| token.kind == TokenKind::Pipe)
            {
                LetValue::Tabular(self.tabular()?)
            } else {
                LetValue::Scalar(self.expression()?)
            };
            self.expect(&TokenKind::Semicolon)?;
            lets.push((name, value));
        }
        let result = self.tabular()?;
        if self.peek_kind() == &TokenKind::Semicolon {
            self.position += 1;
        }
        if self.peek_kind() != &TokenKind::End {
            return Err(self.peek().syntax_error());
        }
        Ok(Query { lets, result })
    }

    fn tabular(&mut self) -> Result<Tabular, KqlError> {
        let source = self.name()?;
        let mut operators = Vec::new();
        while self.peek_kind() == &TokenKind::Pipe {
            self.position += 1;
            operators.push(self.operator()?);
        }
        Ok(Tabular { source, operators })
    }

    fn operator(&mut self) -> Result<Operator, KqlError> {
        let token = self.next();
        let TokenKind::Ident(keyword) = &token.kind else {
            return Err(token.syntax_error());
        };
        match keyword.as_str() {
            "where" | "filter" => Ok(Operator::Where(self.expression()?)),
            "project" => {
                let mut columns = vec![self.name()?];
                while self.peek_kind() == &TokenKind::Comma {
                    self.position += 1;
                    columns.push(self.name()?);
                }
                Ok(Operator::Project(columns))
            }
            "take" | "limit" => Ok(Operator::Take(self.expression()?)),
            "top" => {
                let count = self.expression()?;
                self.expect_keyword("by")?;
                let by = self.name()?;
                let descending = self.direction()?;
                Ok(Operator::Top {
                    count,
                    by,
                    descending,
                })
            }
            "sort" | "order" => {
                self.expect_keyword("by")?;
                let mut keys = Vec::new();
                loop {
                    let column = self.name()?;
                    keys.push((column, self.direction()?));
                    if self.peek_kind() != &TokenKind::Comma {
                        break;
                    }
                    self.position += 1;
                }
                Ok(Operator::Sort(keys))
            }
            "count" => Ok(Operator::Count),
            _ => Err(token.syntax_error()),
        }
    }

    /// `asc` / `desc` (Kusto's default is descending), optionally followed by `nulls first|last`,
    /// which the evaluator's ordering already implies.
    fn direction(&mut self) -> Result<bool, KqlError> {
        let descending = !self.eat_keyword("asc");
        if descending {
            self.eat_keyword("desc");
        }
        if self.eat_keyword("nulls") && !self.eat_keyword("first") {
            self.expect_keyword("last")?;
        }
        Ok(descending)
    }

    fn expression(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.conjunction()?;
        while self.eat_keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.conjunction()?));
        }
        Ok(left)
    }

    fn conjunction(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.comparison()?;
        while self.eat_keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.comparison()?));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, KqlError> {
        let left = self.primary()?;
        let token = self.peek();
        let op = match &token.kind {
            TokenKind::Equal => CompareOp::Equal,
            TokenKind::NotEqual => CompareOp::NotEqual,
            TokenKind::EqualNoCase => CompareOp::EqualNoCase,
            TokenKind::NotEqualNoCase => CompareOp::NotEqualNoCase,
            TokenKind::Less => CompareOp::Less,
            TokenKind::LessOrEqual => CompareOp::LessOrEqual,
            TokenKind::Greater => CompareOp::Greater,
            TokenKind::GreaterOrEqual => CompareOp::GreaterOrEqual,
            TokenKind::Ident(word) | TokenKind::NegatedIdent(word) if word == "in" => {
                let negated = matches!(token.kind, TokenKind::NegatedIdent(_));
                self.position += 1;
                self.expect(&TokenKind::LeftParen)?;
                let list = self.arguments()?;
                return Ok(Expr::In {
                    negated,
                    left: Box::new(left),
                    list,
                });
            }
            TokenKind::Ident(word) => match word.as_str() {
                "has" => CompareOp::Has,
                "contains" => CompareOp::Contains,
                "startswith" => CompareOp::StartsWith,
                "endswith" => CompareOp::EndsWith,
                _ => return Ok(left),
            },
            TokenKind::NegatedIdent(word) => match word.as_str() {
                "has" => CompareOp::NotHas,
                "contains" => CompareOp::NotContains,
                "startswith" => CompareOp::NotStartsWith,
                "endswith" => CompareOp::NotEndsWith,
                _ => return Err(token.syntax_error()),
            },
            _ => return Ok(left),
        };
        self.position += 1;
        let right = self.primary()?;
        Ok(Expr::Compare {
            op,
            left: Box::new(left),
            right: Box::new(right),
        })
    }

    /// The comma-separated expressions up to a closing parenthesis (already past the opening one).
    fn arguments(&mut self) -> Result<Vec<Expr>, KqlError> {
        let mut arguments = Vec::new();
        if self.peek_kind() == &TokenKind::RightParen {
            self.position += 1;
            return Ok(arguments);
        }
        loop {
            arguments.push(self.expression()?);
            let token = self.next();
            match token.kind {
                TokenKind::Comma => continue,
                TokenKind::RightParen => return Ok(arguments),
                _ => return Err(token.syntax_error()),
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, KqlError> {
        let token = self.next();
        let literal = match &token.kind {
            TokenKind::Str(text) => Value::String(text.as_str().into()),
            TokenKind::Long(number) => Value::Long(*number),
            TokenKind::Real(number) => Value::Real(*number),
            TokenKind::Timespan(span) => Value::Timespan(*span),
            TokenKind::DateTime(text) => {
                return Ok(Expr::DateTime {
                    text: text.clone(),
                    token: token.clone(),
                });
            }
            TokenKind::Minus => match &self.next().kind {
                TokenKind::Long(number) => Value::Long(-number),
                TokenKind::Real(number) => Value::Real(-number),
                TokenKind::Timespan(span) => Value::Timespan(-*span),
                _ => return Err(token.syntax_error()),
            },
            TokenKind::LeftParen => {
                let inner = self.expression()?;
                self.expect(&TokenKind::RightParen)?;
                return Ok(inner);
            }
            TokenKind::Ident(word) => {
                let name = word.clone();
                match word.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "not" if self.peek_kind() == &TokenKind::LeftParen => {
                        self.position += 1;
                        let inner = self.expression()?;
                        self.expect(&TokenKind::RightParen)?;
                        return Ok(Expr::Not(Box::new(inner)));
                    }
                    _ if self.peek_kind() == &TokenKind::LeftParen => {
                        self.position += 1;
                        let args = self.arguments()?;
                        return Ok(Expr::Call { name, args });
                    }
                    _ => return Ok(Expr::Name(name)),
                }
            }
            _ => return Err(token.syntax_error()),
        };
        Ok(Expr::Literal(literal))
    }
}

pub(super) fn parse(tokens: &[Token]) -> Result<Query, KqlError> {
    Parser {
        tokens,
        position: 0,
    }
    .query()
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn parse_text(source: &str) -> Result<Query, KqlError> {
        parse(&tokenize(source).unwrap())
    }

    #[test]
    fn parses_lets_pipes_and_operators() {
        let query = parse_text(
            "let since = ago(1d);\nlet Recent = DeviceProcessEvents | where Timestamp > since;\n\
             Recent | where FileName in ('a.exe', \"b.exe\") and not(AccountName has 'svc') | top 5 by Timestamp asc",
        )
        .unwrap();
        assert_eq!(query.lets.len(), 2);
        assert!(matches!(query.lets[1].1, LetValue::Tabular(_)));
        assert_eq!(query.result.operators.len(), 2);
        assert!(matches!(
            query.result.operators[1],
            Operator::Top {
                descending: false,
                ..
            }
        ));
    }

    #[test]
    fn a_dangling_operator_is_a_syntax_error_at_its_position() {
        let error = parse_text("AlertInfo\n| where Severity ==").unwrap_err();
        assert_eq!(
            error,
            KqlError::Syntax {
                near: "<end of query>".into(),
                line: 2,
                column: 20
            }
        );
        assert!(
            matches!(parse_text("AlertInfo | limit 5 | bogus").unwrap_err(), KqlError::Syntax { near, .. } if near == "bogus")
        );
    }
}
