//! The layering of `src/`, read from the code: which top-level module
//! imports which (`crate::x` in production code, comments left out). No
//! two top-level modules may import each other, directly or around a
//! circle, and the pure layers import only what they may.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules that must never be in a circle: what they import, nothing they
/// import may import back.
const LAYERS: [(&str, &[&str]); 5] = [
    ("calendar", &["domain"]),
    ("domain", &[]),
    ("escape", &[]),
    ("process", &[]),
    ("schedule", &["calendar"]),
];

fn source_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .expect("a readable directory")
            .map(|e| e.expect("an entry").path())
            .collect();
        entries.sort();
        for entry in entries {
            source_files(&entry, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// Production code of one file: test files and in-file test modules left out.
fn production_code(file: &Path) -> String {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name == "tests.rs" || name.ends_with("_tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(file).expect("a readable source file");
    let code = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => &text,
    };
    // A doc link names a module without importing it.
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Top-level module → the top-level modules its production code names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(&src).expect("src") {
        let path = entry.expect("an entry").path();
        let is_module = path.is_dir() || path.extension().is_some_and(|e| e == "rs");
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if is_module && !matches!(stem, "main" | "lib") && !stem.ends_with("_tests") {
            modules.insert(stem.to_string());
        }
    }
    let mut graph = BTreeMap::new();
    for module in &modules {
        let mut files = Vec::new();
        let dir = src.join(module);
        if dir.is_dir() {
            source_files(&dir, &mut files);
        } else {
            files.push(src.join(format!("{module}.rs")));
        }
        let mut names = BTreeSet::new();
        for file in files {
            let code = production_code(&file);
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if modules.contains(&name) && &name != module {
                    names.insert(name);
                }
            }
        }
        graph.insert(module.clone(), names);
    }
    graph
}

fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(module) = stack.pop() {
        for next in graph.get(&module).into_iter().flatten() {
            if next == to {
                return true;
            }
            if seen.insert(next.clone()) {
                stack.push(next.clone());
            }
        }
    }
    false
}

#[test]
fn no_two_modules_import_each_other_even_around_a_circle() {
    let graph = imports();
    assert!(graph.len() > 20, "the modules were found: {graph:?}");
    let in_circle: Vec<String> = graph
        .keys()
        .filter(|m| reaches(&graph, m, m))
        .map(|m| {
            let back: Vec<&String> = graph[m].iter().filter(|n| reaches(&graph, n, m)).collect();
            format!("{m} -> {back:?}")
        })
        .collect();
    assert!(
        in_circle.is_empty(),
        "modules in an import circle (module -> the imports that lead back to it): {in_circle:#?}; \
         move the shared noun into `domain` (or the lower module) instead"
    );
}

#[test]
fn the_pure_layers_import_only_what_they_may() {
    let graph = imports();
    for (module, allowed) in LAYERS {
        let names = graph.get(module).expect("the module exists");
        let extra: Vec<&String> = names
            .iter()
            .filter(|n| !allowed.contains(&n.as_str()))
            .collect();
        assert!(extra.is_empty(), "{module} imports {extra:?}");
    }
}

#[test]
fn sending_and_the_rules_never_reach_the_chat_front_ends() {
    let graph = imports();
    for low in ["notify", "rules", "storage", "reports", "alerts"] {
        assert!(
            !reaches(&graph, low, "commands"),
            "{low} reaches commands: what it needs belongs below (notify or domain)"
        );
    }
    assert!(
        !reaches(&graph, "rules", "storage"),
        "rules reach storage: the checks are pure over facts"
    );
}
