//! The condition language's lexical layer: a cursor over condition text that
//! hands out identifiers, field names, operators, quoted strings and bare
//! strings on demand (the language is context-sensitive: `proc.name>=x` and
//! `evt.dir=<` both lex right only when the parser says what comes next).
//! Every token carries its byte offset for error positions.

/// A lexical or syntax error at a byte offset of the condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub at: usize,
    pub msg: String,
}

/// A binary or unary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    IContains,
    BContains,
    StartsWith,
    BStartsWith,
    EndsWith,
    Glob,
    IGlob,
    PMatch,
    In,
    Intersects,
    Exists,
    Regex,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::IContains => "icontains",
            Op::BContains => "bcontains",
            Op::StartsWith => "startswith",
            Op::BStartsWith => "bstartswith",
            Op::EndsWith => "endswith",
            Op::Glob => "glob",
            Op::IGlob => "iglob",
            Op::PMatch => "pmatch",
            Op::In => "in",
            Op::Intersects => "intersects",
            Op::Exists => "exists",
            Op::Regex => "regex",
        }
    }

    /// Parses an operator as written in a condition or an exception's
    /// `comps` (`==` is `=`).
    pub fn from_word(w: &str) -> Option<Op> {
        Some(match w {
            "=" | "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "contains" => Op::Contains,
            "icontains" => Op::IContains,
            "bcontains" => Op::BContains,
            "startswith" => Op::StartsWith,
            "bstartswith" => Op::BStartsWith,
            "endswith" => Op::EndsWith,
            "glob" => Op::Glob,
            "iglob" => Op::IGlob,
            "pmatch" => Op::PMatch,
            "in" => Op::In,
            "intersects" => Op::Intersects,
            "exists" => Op::Exists,
            "regex" => Op::Regex,
            _ => return None,
        })
    }

    /// Operators whose right side is a list.
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::PMatch)
    }
}

/// Cursor over a condition string.
pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_bare_char(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '(' | ')' | '"' | '\'' | '=' | ','))
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Lexer<'a> {
        Lexer { src, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    pub fn skip_ws(&mut self) {
        let rest = self.rest();
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
    }

    pub fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos >= self.src.len()
    }

    pub fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.rest().chars().next()
    }

    /// Consumes `c` (after whitespace) if it is next.
    pub fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// The identifier at the cursor without consuming it.
    pub fn peek_ident(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let rest = self.rest();
        let mut chars = rest.char_indices();
        match chars.next() {
            Some((_, c)) if is_ident_start(c) => {}
            _ => return None,
        }
        let end = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
        Some(&rest[..end])
    }

    /// Consumes the keyword `kw` if it is next as a whole word.
    pub fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.peek_ident() == Some(kw) {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    pub fn ident(&mut self) -> Option<(&'a str, usize)> {
        let id = self.peek_ident()?;
        let at = self.pos;
        self.pos += id.len();
        Some((id, at))
    }

    /// Whether the identifier at the cursor is directly followed by `(`
    /// (after optional whitespace), as for `tolower(...)`.
    pub fn ident_is_call(&mut self) -> bool {
        let Some(id) = self.peek_ident() else {
            return false;
        };
        self.rest()[id.len()..].trim_start().starts_with('(')
    }

    /// A field name: `a.b[.c...]` optionally followed by `[arg]`. Returns
    /// (name, bracket argument, offset).
    pub fn field_name(&mut self) -> Result<(&'a str, Option<&'a str>, usize), ParseError> {
        self.skip_ws();
        let at = self.pos;
        let rest = self.rest();
        let bytes = rest.as_bytes();
        let mut i = 0;
        let mut segments = 0;
        loop {
            let start = i;
            while i < bytes.len() && (bytes[i] as char).is_ascii_alphanumeric()
                || (i < bytes.len() && bytes[i] == b'_')
            {
                i += 1;
            }
            if i == start {
                break;
            }
            segments += 1;
            if i < bytes.len()
                && bytes[i] == b'.'
                && i + 1 < bytes.len()
                && (bytes[i + 1] as char).is_ascii_alphanumeric()
            {
                i += 1;
            } else {
                break;
            }
        }
        if segments < 2 {
            return Err(ParseError {
                at,
                msg: "expected a field name like `proc.name`".into(),
            });
        }
        let name = &rest[..i];
        let mut arg = None;
        if i < bytes.len() && bytes[i] == b'[' {
            match rest[i + 1..].find(']') {
                Some(close) => {
                    arg = Some(&rest[i + 1..i + 1 + close]);
                    i += close + 2;
                }
                None => {
                    return Err(ParseError {
                        at: at + i,
                        msg: "unclosed `[` in field argument".into(),
                    });
                }
            }
        }
        self.pos += i;
        Ok((name, arg, at))
    }

    /// An operator after a field.
    pub fn operator(&mut self) -> Option<(Op, usize)> {
        self.skip_ws();
        let at = self.pos;
        let rest = self.rest();
        for sym in ["==", "!=", "<=", ">=", "=", "<", ">"] {
            if rest.starts_with(sym) {
                self.pos += sym.len();
                return Op::from_word(sym).map(|o| (o, at));
            }
        }
        let id = self.peek_ident()?;
        let op = Op::from_word(id)?;
        self.pos += id.len();
        Some((op, at))
    }

    /// A value: a quoted string (unescaped) or a bare string. Returns
    /// (text, was quoted, offset).
    pub fn value(&mut self) -> Result<(String, bool, usize), ParseError> {
        self.skip_ws();
        let at = self.pos;
        let rest = self.rest();
        let Some(first) = rest.chars().next() else {
            return Err(ParseError {
                at,
                msg: "expected a value, found the end of the condition".into(),
            });
        };
        if first == '"' || first == '\'' {
            let mut out = String::new();
            let mut chars = rest.char_indices().skip(1);
            while let Some((i, c)) = chars.next() {
                if c == first {
                    self.pos += i + 1;
                    return Ok((out, true, at));
                }
                if c == '\\' {
                    match chars.next() {
                        Some((_, e)) if e == first || e == '\\' => out.push(e),
                        Some((_, e)) => {
                            out.push('\\');
                            out.push(e);
                        }
                        None => break,
                    }
                } else {
                    out.push(c);
                }
            }
            return Err(ParseError {
                at,
                msg: format!("unterminated string starting with {first}"),
            });
        }
        let end = rest.find(|c: char| !is_bare_char(c)).unwrap_or(rest.len());
        if end == 0 {
            return Err(ParseError {
                at,
                msg: format!("expected a value, found `{first}`"),
            });
        }
        self.pos += end;
        Ok((rest[..end].to_string(), false, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_are_lexed_without_spaces() {
        let mut l = Lexer::new("fd.num>=0");
        let (name, arg, _) = l.field_name().unwrap();
        assert_eq!((name, arg), ("fd.num", None));
        assert_eq!(l.operator().unwrap().0, Op::Ge);
        assert_eq!(l.value().unwrap().0, "0");
    }

    #[test]
    fn field_arguments_in_brackets() {
        let mut l = Lexer::new("proc.aname[2]=bash");
        let (name, arg, _) = l.field_name().unwrap();
        assert_eq!((name, arg), ("proc.aname", Some("2")));
        let mut l = Lexer::new("container.mount.dest[/var/run/docker.sock] exists");
        assert_eq!(l.field_name().unwrap().1, Some("/var/run/docker.sock"));
    }

    #[test]
    fn quoted_values_unescape_and_bare_values_stop_at_delimiters() {
        let mut l = Lexer::new(r#""a \"b\" c" runc:[0:PARENT],x"#);
        assert_eq!(l.value().unwrap(), ("a \"b\" c".to_string(), true, 0));
        assert_eq!(l.value().unwrap().0, "runc:[0:PARENT]");
    }

    #[test]
    fn unterminated_string_reports_its_start() {
        let mut l = Lexer::new("  'abc");
        assert_eq!(l.value().unwrap_err().at, 2);
    }
}
