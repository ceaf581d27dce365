//! The condition language's grammar: text → [`Expr`] (the AST).
//!
//! Precedence, loosest first: `or`, `and`, `not`, then comparisons and
//! parentheses. Macro names are bare identifiers; fields have a dot.

use super::lexer::{Lexer, Op, ParseError};

/// Maximum nesting of parentheses / `not`, so hostile input cannot exhaust
/// the stack.
const MAX_DEPTH: usize = 200;

/// A field transformer such as `tolower(...)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transform {
    ToLower,
    ToUpper,
    Basename,
    Len,
    B64,
    Trim,
}

impl Transform {
    pub fn from_name(n: &str) -> Option<Transform> {
        Some(match n {
            "tolower" => Transform::ToLower,
            "toupper" => Transform::ToUpper,
            "basename" => Transform::Basename,
            "len" => Transform::Len,
            "b64" => Transform::B64,
            "trim" => Transform::Trim,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Transform::ToLower => "tolower",
            Transform::ToUpper => "toupper",
            Transform::Basename => "basename",
            Transform::Len => "len",
            Transform::B64 => "b64",
            Transform::Trim => "trim",
        }
    }
}

/// A field reference, possibly wrapped in transformers (outermost first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldExpr {
    pub transforms: Vec<Transform>,
    pub name: String,
    pub arg: Option<String>,
    pub at: usize,
}

impl FieldExpr {
    /// The field as written, e.g. `tolower(proc.aname[2])`.
    pub fn display(&self) -> String {
        let mut s = self.name.clone();
        if let Some(a) = &self.arg {
            s = format!("{s}[{a}]");
        }
        for t in self.transforms.iter().rev() {
            s = format!("{}({s})", t.name());
        }
        s
    }
}

/// A literal value on the right of an operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    pub quoted: bool,
    pub at: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rhs {
    /// `exists`.
    None,
    Value(Value),
    /// `(a, b, list_name)`.
    List(Vec<Value>),
    /// `val(field)`: compare against another field of the same event.
    Field(FieldExpr),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Macro {
        name: String,
        at: usize,
    },
    Cmp {
        lhs: FieldExpr,
        op: Op,
        rhs: Rhs,
        at: usize,
    },
    /// A constant (built by the engine, e.g. an exception with no values).
    Const(bool),
}

/// Parses a whole condition.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let mut p = P {
        lx: Lexer::new(src),
        depth: 0,
    };
    if p.lx.at_end() {
        return Err(ParseError {
            at: 0,
            msg: "empty condition".into(),
        });
    }
    let e = p.or()?;
    if !p.lx.at_end() {
        let at = p.lx.pos();
        let near: String = p.lx.rest().chars().take(20).collect();
        return Err(ParseError {
            at,
            msg: format!("unexpected `{near}`; expected `and`, `or` or the end of the condition"),
        });
    }
    Ok(e)
}

struct P<'a> {
    lx: Lexer<'a>,
    depth: usize,
}

impl P<'_> {
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError {
                at: self.lx.pos(),
                msg: format!("condition nested deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.and()?];
        while self.lx.eat_keyword("or") {
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::Const(false))
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.not()?];
        while self.lx.eat_keyword("and") {
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::Const(false))
        } else {
            Expr::And(items)
        })
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.lx.eat_keyword("not") {
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let at = {
            self.lx.skip_ws();
            self.lx.pos()
        };
        if self.lx.eat('(') {
            self.enter()?;
            let e = self.or()?;
            self.depth -= 1;
            if !self.lx.eat(')') {
                return Err(ParseError {
                    at: self.lx.pos(),
                    msg: format!("expected `)` to close the `(` at offset {at}"),
                });
            }
            return Ok(e);
        }
        let Some(id) = self.lx.peek_ident() else {
            return Err(match self.lx.peek() {
                None => ParseError {
                    at,
                    msg: "expected a condition, found the end of the text".into(),
                },
                Some(c) => ParseError {
                    at,
                    msg: format!("expected a field, a macro name, `not` or `(`, found `{c}`"),
                },
            });
        };
        if matches!(id, "and" | "or") {
            return Err(ParseError {
                at,
                msg: format!("`{id}` needs a condition before it"),
            });
        }
        let is_field = self.lx.rest()[id.len()..].starts_with('.');
        if !is_field && !self.lx.ident_is_call() {
            self.lx.ident();
            return Ok(Expr::Macro {
                name: id.to_string(),
                at,
            });
        }
        let lhs = self.field_expr(false)?;
        let Some((op, op_at)) = self.lx.operator() else {
            let near: String = self.lx.rest().chars().take(20).collect();
            return Err(ParseError {
                at: self.lx.pos(),
                msg: format!(
                    "expected an operator (=, !=, <, <=, >, >=, contains, icontains, bcontains, startswith, bstartswith, endswith, glob, iglob, pmatch, in, intersects, exists, regex) after `{}`, found `{near}`",
                    lhs.display()
                ),
            });
        };
        let _ = op_at;
        let rhs = if op == Op::Exists {
            Rhs::None
        } else if op.takes_list() {
            if self.lx.eat('(') {
                let mut items = Vec::new();
                if !self.lx.eat(')') {
                    loop {
                        let (text, quoted, vat) = self.lx.value()?;
                        items.push(Value {
                            text,
                            quoted,
                            at: vat,
                        });
                        if self.lx.eat(')') {
                            break;
                        }
                        if !self.lx.eat(',') {
                            return Err(ParseError {
                                at: self.lx.pos(),
                                msg: "expected `,` or `)` in a list".into(),
                            });
                        }
                    }
                }
                Rhs::List(items)
            } else {
                let (text, quoted, vat) = self.lx.value()?;
                Rhs::List(vec![Value {
                    text,
                    quoted,
                    at: vat,
                }])
            }
        } else if self.lx.ident_is_call() {
            Rhs::Field(self.field_expr(true)?)
        } else {
            let (text, quoted, vat) = self.lx.value()?;
            Rhs::Value(Value {
                text,
                quoted,
                at: vat,
            })
        };
        Ok(Expr::Cmp { lhs, op, rhs, at })
    }

    /// `field`, `transformer(field_expr)`, and on the right side
    /// `val(field)`.
    fn field_expr(&mut self, rhs: bool) -> Result<FieldExpr, ParseError> {
        let mut transforms = Vec::new();
        let mut saw_val = false;
        let mut closes = 0;
        while self.lx.ident_is_call() {
            let Some((name, at)) = self.lx.ident() else {
                break;
            };
            self.lx.eat('(');
            closes += 1;
            if closes > 16 {
                return Err(ParseError {
                    at,
                    msg: "too many nested transformers".into(),
                });
            }
            if name == "val" {
                if !rhs {
                    return Err(ParseError {
                        at,
                        msg: "`val(...)` is only allowed on the right side of a comparison".into(),
                    });
                }
                saw_val = true;
                continue;
            }
            match Transform::from_name(name) {
                Some(t) => transforms.push(t),
                None => {
                    return Err(ParseError {
                        at,
                        msg: format!(
                            "unknown transformer `{name}`; supported: tolower, toupper, basename, len, b64, trim, and val on the right side"
                        ),
                    });
                }
            }
        }
        if rhs && !saw_val && transforms.is_empty() {
            return Err(ParseError {
                at: self.lx.pos(),
                msg: "expected `val(field)`".into(),
            });
        }
        let (name, arg, at) = self.lx.field_name()?;
        for _ in 0..closes {
            if !self.lx.eat(')') {
                return Err(ParseError {
                    at: self.lx.pos(),
                    msg: "expected `)` after the transformer's field".into(),
                });
            }
        }
        Ok(FieldExpr {
            transforms,
            name: name.to_string(),
            arg: arg.map(str::to_string),
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(e: &Expr) -> (&str, Op) {
        match e {
            Expr::Cmp { lhs, op, .. } => (lhs.name.as_str(), *op),
            other => panic!("not a comparison: {other:?}"),
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let e = parse("a or b and c").unwrap();
        let Expr::Or(items) = e else { panic!() };
        assert_eq!(
            items[0],
            Expr::Macro {
                name: "a".into(),
                at: 0
            }
        );
        assert!(matches!(&items[1], Expr::And(v) if v.len() == 2));
    }

    #[test]
    fn not_binds_tighter_than_and() {
        let e = parse("not a and b").unwrap();
        let Expr::And(items) = e else { panic!() };
        assert!(matches!(&items[0], Expr::Not(_)));
    }

    #[test]
    fn parentheses_override_precedence() {
        let e = parse("(a or b) and c").unwrap();
        let Expr::And(items) = e else { panic!() };
        assert!(matches!(&items[0], Expr::Or(_)));
    }

    #[test]
    fn comparisons_with_all_operators_parse() {
        for op in [
            "=",
            "==",
            "!=",
            "<",
            "<=",
            ">",
            ">=",
            "contains",
            "icontains",
            "bcontains",
            "startswith",
            "bstartswith",
            "endswith",
            "glob",
            "iglob",
            "regex",
        ] {
            let e = parse(&format!("proc.name {op} x")).unwrap();
            assert_eq!(cmp(&e).1, Op::from_word(op).unwrap());
        }
        assert_eq!(cmp(&parse("proc.name exists").unwrap()).1, Op::Exists);
        assert_eq!(
            cmp(&parse("proc.name in (a, 'b c', \"d\")").unwrap()).1,
            Op::In
        );
        assert_eq!(cmp(&parse("fd.name pmatch (dirs)").unwrap()).1, Op::PMatch);
        assert_eq!(
            cmp(&parse("proc.args intersects (-V)").unwrap()).1,
            Op::Intersects
        );
    }

    #[test]
    fn transformers_and_val_parse() {
        let e = parse("tolower(proc.name) = val(proc.pname)").unwrap();
        let Expr::Cmp { lhs, rhs, .. } = e else {
            panic!()
        };
        assert_eq!(lhs.transforms, vec![Transform::ToLower]);
        assert!(matches!(rhs, Rhs::Field(f) if f.name == "proc.pname"));
        let e = parse("len(basename(proc.exepath)) > 3").unwrap();
        let Expr::Cmp { lhs, .. } = e else { panic!() };
        assert_eq!(lhs.display(), "len(basename(proc.exepath))");
    }

    #[test]
    fn errors_carry_the_offset() {
        let e = parse("proc.name = x and").unwrap_err();
        assert_eq!(e.at, 17);
        let e = parse("proc.name bogus x").unwrap_err();
        assert_eq!(e.at, 10);
        assert!(e.msg.contains("expected an operator"), "{}", e.msg);
        let e = parse("(proc.name = x").unwrap_err();
        assert!(e.msg.contains("expected `)`"));
        let e = parse("proc.name in (a b)").unwrap_err();
        assert_eq!(e.at, 16);
        assert!(parse("").is_err());
        assert!(parse("val(proc.name) = x").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = format!("{}a{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&src).is_err());
        let src = format!("{}a", "not ".repeat(5000));
        assert!(parse(&src).is_err());
    }

    #[test]
    fn keywords_need_word_boundaries() {
        assert_eq!(
            parse("notice").unwrap(),
            Expr::Macro {
                name: "notice".into(),
                at: 0
            }
        );
        let e = parse("android or origin").unwrap();
        assert!(matches!(e, Expr::Or(v) if v.len() == 2));
    }
}
