//! Rule outputs: parsing `%field` placeholders (also `%field[2]`,
//! `%evt.arg.flags`, `%(field)`, `%%` for a literal percent sign) and
//! rendering them for a matched event, `<NA>` for missing values.

use super::eval::Eval;
use super::lexer::Lexer;

/// A parsed output string.
#[derive(Clone, Debug, Default)]
pub struct OutputFormat {
    pub parts: Vec<Part>,
}

#[derive(Clone, Debug)]
pub enum Part {
    Lit(String),
    /// A field: (as written, slot).
    Field(String, usize),
}

/// A `%field` reference found in an output: name, bracket arg, offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRef {
    pub name: String,
    pub arg: Option<String>,
    pub at: usize,
    pub len: usize,
}

/// Literal text and field references, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Lit(String),
    Field(FieldRef),
}

/// Splits an output string into literal text and field references.
pub fn split(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let Some(p) = rest.find('%') else {
            lit.push_str(rest);
            break;
        };
        lit.push_str(&rest[..p]);
        i += p;
        let after = &text[i + 1..];
        if after.starts_with('%') {
            lit.push('%');
            i += 2;
            continue;
        }
        let paren = after.starts_with('(');
        let start = i + 1 + usize::from(paren);
        let mut lx = Lexer::new(&text[start..]);
        let leading_ws = text[start..].starts_with(char::is_whitespace);
        match lx.field_name() {
            Ok((name, arg, _)) if !leading_ws => {
                let mut end = start + lx.pos();
                if paren {
                    if text[end..].starts_with(')') {
                        end += 1;
                    } else {
                        lit.push('%');
                        i += 1;
                        continue;
                    }
                }
                if !lit.is_empty() {
                    out.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                out.push(Piece::Field(FieldRef {
                    name: name.to_string(),
                    arg: arg.map(str::to_string),
                    at: i,
                    len: end - i,
                }));
                i = end;
            }
            _ => {
                lit.push('%');
                i += 1;
            }
        }
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    out
}

impl OutputFormat {
    /// Fills in the placeholders for the event being judged.
    pub fn render(&self, e: &mut Eval<'_, '_>) -> String {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => s.push_str(l),
                Part::Field(_, slot) => match e.get(*slot).render() {
                    Some(v) => s.push_str(&v),
                    None => s.push_str("<NA>"),
                },
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &str) -> Vec<String> {
        split(t)
            .into_iter()
            .map(|p| match p {
                Piece::Lit(l) => format!("L:{l}"),
                Piece::Field(f) => format!(
                    "F:{}{}",
                    f.name,
                    f.arg.map(|a| format!("[{a}]")).unwrap_or_default()
                ),
            })
            .collect()
    }

    #[test]
    fn placeholders_and_literals_split() {
        assert_eq!(
            names("Shell | user=%user.name gp=%proc.aname[2] flags=%evt.arg.flags 100%% done"),
            vec![
                "L:Shell | user=",
                "F:user.name",
                "L: gp=",
                "F:proc.aname[2]",
                "L: flags=",
                "F:evt.arg.flags",
                "L: 100% done"
            ]
        );
    }

    #[test]
    fn parenthesised_placeholders_and_stray_percent() {
        assert_eq!(names("a %(proc.name)b"), vec!["L:a ", "F:proc.name", "L:b"]);
        assert_eq!(names("50% of %x"), vec!["L:50% of %x"]);
        assert_eq!(names("%proc.name."), vec!["F:proc.name", "L:."]);
    }
}
