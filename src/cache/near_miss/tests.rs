#![allow(clippy::panic)]

use super::*;

fn rejects(a: &str, b: &str) -> Disagreement {
    match check(a, b) {
        Err(d) => d,
        Ok(()) => panic!("expected a disagreement between {a:?} and {b:?}"),
    }
}

fn accepts(a: &str, b: &str) {
    if let Err(d) = check(a, b) {
        panic!("expected {a:?} and {b:?} to agree, got: {d}");
    }
}

#[test]
fn issue_examples_disagree() {
    assert!(matches!(
        rejects(
            "What is the capital of France?",
            "What is the capital of Germany?"
        ),
        Disagreement::Entity { .. }
    ));
    assert!(matches!(
        rejects(
            "Convert Celsius to Fahrenheit",
            "Convert Fahrenheit to Celsius"
        ),
        Disagreement::Direction { .. }
    ));
    assert!(matches!(
        rejects(
            "How do I reverse a list in Python?",
            "How do I reverse a list in JavaScript?"
        ),
        Disagreement::Entity { .. }
    ));
}

#[test]
fn numbers_must_match() {
    assert!(matches!(
        rejects("What is 15% of 80?", "What is 15% of 90?"),
        Disagreement::Number { .. }
    ));
    assert!(matches!(
        rejects("merge two dictionaries", "merge three dictionaries"),
        Disagreement::Number { .. }
    ));
    assert!(matches!(
        rejects(
            "Who was the first president?",
            "Who was the third president?"
        ),
        Disagreement::Number { .. }
    ));
    assert!(matches!(
        rejects("When did World War I end?", "When did World War II end?"),
        Disagreement::Number { .. }
    ));
    assert!(matches!(
        rejects("what is 1+1", "what is 1+1+1"),
        Disagreement::Number { .. }
    ));
    accepts("What is two plus two?", "what's 2+2");
    accepts(
        "population in 5 million cities",
        "population in 5,000,000 cities",
    );
    accepts(
        "How many km is one mile?",
        "How many kilometers are in a mile?",
    );
    accepts(
        "first president of the usa",
        "1st President of the United States",
    );
    accepts("World War 2 end date", "World War II end date");
}

#[test]
fn negation_must_match() {
    assert!(matches!(
        rejects(
            "Chocolate cake recipe with eggs",
            "Chocolate cake recipe without eggs"
        ),
        Disagreement::Negation { side: Side::B, .. }
    ));
    assert!(matches!(
        rejects("Why can't I sleep?", "Why can I sleep?"),
        Disagreement::Negation { side: Side::A, .. }
    ));
    accepts(
        "Is it safe to eat raw eggs or not?",
        "Is it safe to eat raw eggs?",
    );
    accepts(
        "I don't know how to exit vim",
        "I do not know how to exit vim",
    );
}

#[test]
fn opposite_words_disagree() {
    for (a, b) in [
        (
            "Find the min of an array in C",
            "Find the max of an array in C",
        ),
        ("encode a string to base64", "decode a string to base64"),
        ("increase font size", "decrease font size"),
        ("add an item to a set", "remove an item from a set"),
        ("sort in ascending order", "sort in descending order"),
        (
            "what happened before the war",
            "what happened after the war",
        ),
        (
            "the cheapest flight to Rome",
            "the most expensive flight to Rome",
        ),
        ("turn on dark mode", "turn off dark mode"),
        ("Is coffee good for you?", "Is coffee bad for you?"),
    ] {
        assert!(
            matches!(rejects(a, b), Disagreement::Opposite { .. }),
            "{a} / {b}"
        );
    }
    accepts(
        "delete the first and last element",
        "remove the first and last element",
    );
    // "first" is also an ordinal, so the number check sees it first.
    assert!(matches!(
        rejects("the first element of a list", "the last element of a list"),
        Disagreement::Number { .. } | Disagreement::Opposite { .. }
    ));
}

#[test]
fn direction_must_match() {
    for (a, b) in [
        ("Convert 5 miles to km", "Convert 5 km to miles"),
        (
            "How many ounces are in a pound?",
            "How many pounds are in an ounce?",
        ),
        (
            "convert a string to an int in Java",
            "convert an int to a string in Java",
        ),
        (
            "translate from English to German",
            "translate from German to English",
        ),
        ("10 USD in EUR", "10 EUR in USD"),
    ] {
        assert!(
            matches!(rejects(a, b), Disagreement::Direction { .. }),
            "{a} / {b}"
        );
    }
    accepts(
        "Convert 5 miles to kilometers",
        "How many kilometers is 5 miles?",
    );
    accepts(
        "Convert 100 Celsius to Fahrenheit",
        "100 degrees Celsius in Fahrenheit?",
    );
    accepts("How many ounces are in a pound?", "How many oz in a lb?");
}

#[test]
fn names_must_match() {
    assert!(matches!(
        rejects("declare a constant in C++", "declare a constant in C#"),
        Disagreement::Entity { .. }
    ));
    assert!(matches!(
        rejects("lock the screen on Windows", "lock the screen on a Mac"),
        Disagreement::Entity { .. }
    ));
    assert!(matches!(
        rejects("concatenate strings in Go", "concatenate strings in Rust"),
        Disagreement::Entity { .. }
    ));
    // "go" is only a name when written as one.
    accepts(
        "where do I go to renew a passport",
        "where to renew a passport",
    );
}

#[test]
fn rare_content_words_must_match() {
    assert!(matches!(
        rejects("sort a dictionary by key", "sort a dictionary by value"),
        Disagreement::Opposite { .. } | Disagreement::ContentWord { .. }
    ));
    assert!(matches!(
        rejects(
            "time complexity of quicksort",
            "time complexity of mergesort"
        ),
        Disagreement::ContentWord { .. }
    ));
    assert!(matches!(
        rejects(
            "list all files in a directory",
            "list all hidden files in a directory"
        ),
        Disagreement::ContentWord { side: Side::B, .. }
    ));
}

#[test]
fn paraphrases_agree() {
    for (a, b) in [
        (
            "What is the capital of France?",
            "what's the capital of france",
        ),
        (
            "How do I reverse a list in Python?",
            "python: reverse a list",
        ),
        (
            "Can you tell me how tall Mount Everest is?",
            "How high is Mount Everest?",
        ),
        (
            "How do I revrse a string in pyhton?",
            "How do I reverse a string in Python?",
        ),
        (
            "WHAT IS THE MEANING OF LIFE",
            "what is the meaning of life?",
        ),
        (
            "How do I sort a dictionary by value in Python?",
            "Sort a python dict by its values",
        ),
        (
            "How do I reset my password?",
            "How can I change my password?",
        ),
        (
            "How old is the universe?",
            "What is the age of the universe?",
        ),
        ("What's the largest planet?", "Which planet is the biggest?"),
        ("Who wrote Hamlet?", "Who is the author of Hamlet?"),
        ("What is the derivative of x^2?", "differentiate x squared"),
        ("What is 12 times 12?", "what's 12 x 12"),
        ("What does HTTP stand for?", "What is HTTP short for?"),
        (
            "string concatenation in Go",
            "How do I concatenate strings in Go?",
        ),
    ] {
        accepts(a, b);
    }
}

#[test]
fn agree_is_symmetric_on_examples() {
    for (a, b) in [
        ("Convert 10 USD to EUR", "Convert 10 EUR to USD"),
        ("How do I exit vim?", "how to quit vim"),
        ("Tell me a joke about cats", "Tell me a joke about dogs"),
    ] {
        assert_eq!(agree(a, b), agree(b, a), "{a} / {b}");
    }
}

#[test]
fn disagreements_read_well_in_logs() {
    let d = rejects("Convert 10 USD to EUR", "Convert 10 EUR to USD");
    assert_eq!(
        d.to_string(),
        "reversed direction: USD -> EUR vs EUR -> USD"
    );
}

#[test]
fn odd_input_does_not_panic() {
    let pool: Vec<char> = "aZ9 '’.,+#%$€^-→/xXIV\u{e9}\u{65e5}\u{1f600}\t\n?:w0o"
        .chars()
        .collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..2000 {
        let mut make = || {
            let len = (next() % 24) as usize;
            (0..len)
                .map(|_| pool[(next() % pool.len() as u64) as usize])
                .collect::<String>()
        };
        let (a, b) = (make(), make());
        let _ = check(&a, &b);
    }
    accepts("", "");
    accepts("日本の首都は？", "日本の首都は？");
    assert!(matches!(
        rejects("café au lait recipe", "café mocha recipe"),
        Disagreement::ContentWord { .. }
    ));
}

#[test]
fn lowercase_ambiguous_names_still_give_direction() {
    assert!(matches!(
        rejects(
            "How do I convert a Word document to PDF?",
            "convert pdf to word document"
        ),
        Disagreement::Direction { .. }
    ));
    accepts(
        "How do I convert a PDF to Word?",
        "convert pdf to word document",
    );
}

#[test]
fn opposites_are_counted_not_just_seen() {
    assert!(matches!(
        rejects(
            "turn off notifications on Android",
            "turn on notifications on Android"
        ),
        Disagreement::Opposite { .. }
    ));
    accepts("turn off wifi on an iPhone", "iPhone: turn wifi off");
}

#[test]
fn unit_symbols_after_numbers() {
    accepts("Convert 30 Celsius to Fahrenheit", "30°C in Fahrenheit");
    accepts("500 g in ounces", "convert 500 grams to ounces");
    assert!(matches!(
        rejects("30 °F in Celsius", "30 C in Fahrenheit"),
        Disagreement::Direction { .. }
    ));
    assert!(matches!(
        rejects(
            "convert a list to a set in Python",
            "convert a set to a list in Python"
        ),
        Disagreement::Direction { .. }
    ));
}
