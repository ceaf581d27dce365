//! Property tests: arbitrary condition text and arbitrary rule files never
//! panic the parser or the loader.

use kestrel::rules::{self, RuleSource, parser};
use proptest::prelude::*;

fn condition_like() -> impl Strategy<Value = String> {
    let atom = prop::sample::select(vec![
        "proc.name",
        "=",
        "!=",
        "<",
        ">=",
        "and",
        "or",
        "not",
        "(",
        ")",
        ",",
        "in",
        "pmatch",
        "glob",
        "exists",
        "contains",
        "'",
        "\"",
        "x",
        "proc.aname[2]",
        "evt.arg.flags",
        "tolower(",
        "val(",
        "[",
        "]",
        "%",
        " ",
        "\\",
        "evt.type",
        "execve",
        "m",
        "-1",
        "0x",
        "regex",
        "'(['",
        "é",
        "\n",
    ]);
    prop::collection::vec(atom, 0..40).prop_map(|v| v.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic_the_parser(s in ".{0,200}") {
        let _ = parser::parse(&s);
    }

    #[test]
    fn condition_like_token_soup_never_panics_the_parser(s in condition_like()) {
        let _ = parser::parse(&s);
    }

    #[test]
    fn arbitrary_conditions_never_panic_the_loader(s in condition_like()) {
        let yaml = format!(
            "- macro: m\n  condition: proc.name = x\n- rule: r\n  desc: d\n  condition: {}\n  output: '%proc.name {}'\n  priority: INFO\n",
            serde_json::to_string(&s).unwrap_or_default(),
            s.replace('\'', "''").replace('\n', " "),
        );
        let _ = rules::check(&[RuleSource::new("fuzz.yaml", yaml)]);
    }

    #[test]
    fn arbitrary_yaml_never_panics_the_loader(s in "(- |rule: |macro: |list: |condition: |items: |\\[|\\]|\\{|\\}|\n|  |x|'|\"|:|append: true|override:)*") {
        let _ = rules::check(&[RuleSource::new("fuzz.yaml", s)]);
    }
}
