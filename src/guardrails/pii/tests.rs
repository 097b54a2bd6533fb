//! Tests of `guardrails::pii`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn redactor() -> &'static PiiRedactor {
    static REDACTOR: std::sync::OnceLock<PiiRedactor> = std::sync::OnceLock::new();
    REDACTOR.get_or_init(|| PiiRedactor::new(&[]).unwrap())
}

/// Kinds found in `text`, with the matched values.
fn found(text: &str) -> Vec<(String, String)> {
    redactor()
        .find(text)
        .into_iter()
        .map(|m| (m.kind.to_string(), text[m.start..m.end].to_owned()))
        .collect()
}

fn assert_detected(kind: &str, values: &[&str]) {
    for value in values {
        let text = format!("please use {value} for it.");
        assert_eq!(
            found(&text),
            vec![(kind.to_owned(), (*value).to_owned())],
            "in {text:?}"
        );
    }
}

fn assert_untouched(texts: &[&str]) {
    let r = redactor();
    for text in texts {
        assert_eq!(r.find(text), vec![], "in {text:?}");
        assert_eq!(r.redact(text, &mut Redactions::default()), None);
    }
}

#[test]
fn emails() {
    assert_detected(
        EMAIL,
        &[
            "jane.doe@example.com",
            "first+tag@mail.example.co.uk",
            "X_Y-z%1@sub-domain.io",
        ],
    );
}

#[test]
fn phones() {
    assert_detected(
        PHONE,
        &[
            "(555) 123-4567",
            "555-123-4567",
            "555.123.4567",
            "+1 555 123 4567",
            "1-800-555-0199",
            "+44 20 7946 0958",
            "+33 1 23 45 67 89",
            "+49 30 1234567",
            "+91 98765 43210",
            "+4915112345678",
        ],
    );
}

#[test]
fn phone_followed_by_more_digits_is_cut_back() {
    let text = "call +44 20 7946 0958 4111 1111 1111 1111 now";
    assert_eq!(
        found(text),
        vec![
            (PHONE.to_owned(), "+44 20 7946 0958".to_owned()),
            (CREDIT_CARD.to_owned(), "4111 1111 1111 1111".to_owned()),
        ]
    );
}

#[test]
fn ssns() {
    assert_detected(SSN, &["123-45-6789", "078-05-1121", "665 12 0001"]);
    assert_untouched(&[
        "ssn 000-12-3456",
        "ssn 666-12-3456",
        "ssn 912-12-3456",
        "ssn 123-00-4567",
        "ssn 123-45-0000",
    ]);
}

#[test]
fn credit_cards() {
    assert_detected(
        CREDIT_CARD,
        &[
            "4111111111111111",
            "4111 1111 1111 1111",
            "5555-5555-5555-4444",
            "3782 822463 10005",
            "378282246310005",
            "6011111111111117",
            "2223003122003222",
            "4222222222222",
        ],
    );
    assert_untouched(&[
        "card 4111 1111 1111 1112 fails Luhn",
        "id 1234567812345670 passes Luhn but has no issuer",
        "9999999999999995 neither",
    ]);
}

#[test]
fn card_followed_by_year_keeps_the_year() {
    let text = "card 4111 1111 1111 1111 2024 expired";
    assert_eq!(
        found(text),
        vec![(CREDIT_CARD.to_owned(), "4111 1111 1111 1111".to_owned())]
    );
}

#[test]
fn ibans() {
    assert_detected(
        IBAN,
        &[
            "DE89 3704 0044 0532 0130 00",
            "DE89370400440532013000",
            "GB29 NWBK 6016 1331 9268 19",
            "GB29NWBK60161331926819",
            "FR14 2004 1010 0505 0001 3M02 606",
            "NL91ABNA0417164300",
            "NO9386011117947",
        ],
    );
    assert!(!iban_valid("DE88 3704 0044 0532 0130 00"));
    assert!(!iban_valid("DE89 3704 0044 0532 0130 0"));
    assert!(!iban_valid("ZZ89370400440532013000"));
    let text = "DE89 3704 0044 0532 0130 00 1234 5678";
    assert_eq!(
        found(text)[0],
        (IBAN.to_owned(), "DE89 3704 0044 0532 0130 00".to_owned())
    );
}

#[test]
fn ip_addresses() {
    assert_detected(
        IP_ADDRESS,
        &[
            "192.168.1.1",
            "8.8.8.8",
            "255.255.255.255",
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            "2001:db8::8a2e:370:7334",
            "fe80::1ff:fe23:4567:890a",
            "::ffff:192.0.2.128",
        ],
    );
    assert_eq!(
        found("from 10.0.0.1:8080 and 10.1.0.0/16")
            .into_iter()
            .map(|(_, v)| v)
            .collect::<Vec<_>>(),
        vec!["10.0.0.1", "10.1.0.0"]
    );
    assert_untouched(&[
        "256.1.1.1 is not an address",
        "1.2.3.4.5 has five parts",
        "at 12:30:45 sharp",
        "use std::net and abc::def",
        "MAC 00:1A:2B:3C:4D:5E",
    ]);
}

#[test]
fn api_keys() {
    assert_detected(
        API_KEY,
        &[
            "sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL",
            "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_A7b-C0d",
            "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe-AbCdEf",
            "AKIAIOSFODNN7EXAMPLE",
            "ASIAY34FZKBOKMUTVV7A",
            "ghp_1234567890abcdefghijklmnopqrstuvwxyzAB",
            "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "rk_live_51Habcdefghijklmnop",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ],
    );
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM\n+a/b==\n-----END RSA PRIVATE KEY-----";
    assert_detected(API_KEY, &[pem]);
    let openssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
    assert_detected(API_KEY, &[openssh]);
}

#[test]
fn generic_secrets() {
    assert_detected(
        SECRET,
        &[
            "Zq8vR2mN7xK4pL9sT3wY6bH1",
            "a8F3kQ9zL2mX7vB4nC6pR1tY5wE0uI",
            "dGhpcyBpcyBhIHNlY3JldCB0b2tlbjEyMw==",
            "k3j4h5g6f7d8s9a0p1o2i3u4y5",
        ],
    );
}

#[test]
fn assignments() {
    let cases = [
        ("password=hunter2", "hunter2"),
        ("passwd: swordfish", "swordfish"),
        ("DB_PASSWORD = \"p@ss word!\"", "p@ss word!"),
        ("{\"secret\": \"abc\"}", "abc"),
        ("token:xyz123.", "xyz123"),
        ("https://x.io/cb?api_key=q1w2e3&x=1", "q1w2e3"),
        ("client_secret => 'shh'", "shh"),
        ("Password: letmein", "letmein"),
    ];
    for (text, value) in cases {
        assert_eq!(
            found(text),
            vec![(SECRET.to_owned(), value.to_owned())],
            "in {text:?}"
        );
    }
    assert_untouched(&[
        "max_tokens: 1500",
        "the tokens: many",
        "mypassword=x is not a keyword",
        "password reset links expire",
        "token_type: bearer",
    ]);
}

#[test]
fn api_key_assignment_is_an_api_key() {
    let key = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z";
    assert_eq!(
        found(&format!("api_key={key}")),
        vec![(API_KEY.to_owned(), key.to_owned())]
    );
}

#[test]
fn benign_lookalikes_stay() {
    assert_untouched(&[
        "Upgrade to v1.2.3 today",
        "Windows version 10.0.19045.2006 is installed",
        "version 1.2.3.4 is out, see v1.2.3.4 and Agent/1.2.3.4",
        "release: 2.0.0.1 shipped",
        "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2",
        "ISBN-13: 9783161484100",
        "on 2024-01-15 or 15/01/2024 or 15.01.2024",
        "at 10:30, 23:59:59 or 10:30:00.000 UTC",
        "order #123456789 and invoice INV-2024-000123",
        "number 1234567812345678 fails Luhn",
        "costs $1,299.99 for 3 items, 1 500 000 units, 42 kg",
        "uuid 550e8400-e29b-41d4-a716-446655440000",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "The internationalization of counterrevolutionaries is incomprehensibilities.",
        "see src/guardrails/pii2/tests/fixtures1/report_2024_01_15_final_v2.txt",
        "Windows10ProfessionalEdition2024 in prose",
        "timestamp 1705312345678 ms",
        "[REDACTED_CREDIT_CARD_12] and [REDACTED_IP_ADDRESS_1]",
        "",
    ]);
}

#[test]
fn numbering_and_same_value_same_placeholder() {
    let r = redactor();
    let mut state = Redactions::default();
    let first = r
        .redact(
            "mail a@x.com, b@y.org and A@X.com; ssn 123-45-6789",
            &mut state,
        )
        .unwrap();
    assert_eq!(
        first,
        "mail [REDACTED_EMAIL_1], [REDACTED_EMAIL_2] and [REDACTED_EMAIL_1]; ssn [REDACTED_SSN_1]"
    );
    // The state carries over to the next message of the same request.
    let second = r
        .redact(
            "again b@y.org, card 4111-1111-1111-1111 / 4111111111111111",
            &mut state,
        )
        .unwrap();
    assert_eq!(
        second,
        "again [REDACTED_EMAIL_2], card [REDACTED_CREDIT_CARD_1] / [REDACTED_CREDIT_CARD_1]"
    );
    assert_eq!(state.kinds(), vec!["email", "ssn", "credit_card"]);
    assert_eq!(state.count(), 4);
    assert!(!state.is_empty());
    assert!(!format!("{state:?}").contains("a@x.com"));
    assert_eq!(r.redact("nothing here", &mut state), None);
    assert!(Redactions::default().is_empty());
}

#[test]
fn redacted_output_is_stable() {
    let r = redactor();
    let mut state = Redactions::default();
    let once = r
        .redact(
            "key AKIAIOSFODNN7EXAMPLE ip 1.2.3.4 pw password=x",
            &mut state,
        )
        .unwrap();
    assert_eq!(r.redact(&once, &mut state), None, "{once}");
}

#[test]
fn custom_rules() {
    let rules = [CustomRule {
        name: "employee_id".to_owned(),
        pattern: r"\bEMP-[0-9]{6}\b".to_owned(),
        weight: 1.0,
    }];
    let r = PiiRedactor::new(&rules).unwrap();
    let mut state = Redactions::default();
    let out = r
        .redact("EMP-123456 and EMP-654321 mail e@x.io", &mut state)
        .unwrap();
    assert_eq!(
        out,
        "[REDACTED_EMPLOYEE_ID_1] and [REDACTED_EMPLOYEE_ID_2] mail [REDACTED_EMAIL_1]"
    );
    assert_eq!(state.kinds(), vec!["employee_id", "email"]);
}

#[test]
fn bad_custom_rules_are_errors() {
    let bad = |name: &str, pattern: &str| CustomRule {
        name: name.to_owned(),
        pattern: pattern.to_owned(),
        weight: 0.0,
    };
    let err = PiiRedactor::new(&[bad("broken", "(unclosed")]).unwrap_err();
    assert_eq!(err.name, "broken");
    assert!(PiiRedactor::new(&[bad(" ", "x")]).is_err());
    // A rule that can match the empty string is harmless.
    let r = PiiRedactor::new(&[bad("empty", "x*")]).unwrap();
    assert_eq!(r.find("abc"), vec![]);
}

#[test]
fn non_ascii_text() {
    let text = "Grüße an jörg@example.de — 電話 +49 30 1234567 und 4111 1111 1111 1111.";
    let kinds: Vec<String> = found(text).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, vec![EMAIL, PHONE, CREDIT_CARD]);
    assert_eq!(found(text)[0].1, "jörg@example.de");
    let text = "mail jörg.müller@example.de é4111111111111111";
    let r = redactor();
    let out = r.redact(text, &mut Redactions::default()).unwrap();
    assert!(out.contains("[REDACTED_EMAIL_1]") || out.contains("[REDACTED_CREDIT_CARD_1]"));
}

#[test]
fn values_across_window_boundaries() {
    let values = [
        "4111 1111 1111 1111",
        "DE89 3704 0044 0532 0130 00",
        "password=hunter2",
        "Zq8vR2mN7xK4pL9sT3wY6bH1",
        "(555) 123-4567",
    ];
    for value in values {
        for offset in WINDOW - 30..WINDOW + 5 {
            let mut text = "word ".repeat(offset / 5);
            text.push_str(&" ".repeat(offset - text.len()));
            text.push_str(value);
            text.push_str(" and more words after it");
            let out = redactor()
                .redact(&text, &mut Redactions::default())
                .unwrap();
            let secret = value.strip_prefix("password=").unwrap_or(value);
            assert!(!out.contains(secret), "{value:?} at {offset}");
        }
    }
    let long = format!("{} token={}", "word ".repeat(800), "a1".repeat(400));
    let out = redactor()
        .redact(&long, &mut Redactions::default())
        .unwrap();
    assert!(
        out.ends_with("token=[REDACTED_SECRET_1]"),
        "{}",
        &out[3990..]
    );
}

#[test]
fn validators() {
    assert!(luhn_valid("4111 1111 1111 1111"));
    assert!(luhn_valid("79927398713"));
    assert!(!luhn_valid("79927398710"));
    assert!(!luhn_valid("4111a1111"));
    assert!(!luhn_valid("0"));
    assert!(ssn_valid("123-45-6789"));
    assert!(!ssn_valid("123-45-678"));
    assert!(iban_valid("GB82 WEST 1234 5698 7654 32"));
    assert!(!iban_valid("gb82 west 1234 5698 7654 32"));
}

#[test]
fn builtin_patterns_work_standalone() {
    let samples = [
        "jane@example.com",
        "555-123-4567",
        "+44 20 7946 0958",
        "123-45-6789",
        "4111 1111 1111 1111",
        "DE89 3704 0044 0532 0130 00",
        "192.168.0.1",
        "2001:db8::1",
        "AKIAIOSFODNN7EXAMPLE",
        "Zq8vR2mN7xK4pL9sT3wY6bH1",
        "password=hunter2",
    ];
    let patterns = builtin_patterns();
    let compiled: Vec<(NamedPattern, Regex)> = patterns
        .into_iter()
        .map(|p| {
            let re = Regex::new(&p.regex).unwrap();
            (p, re)
        })
        .collect();
    for sample in samples {
        let hit = compiled.iter().any(|(p, re)| {
            re.find(sample).is_some_and(|m| {
                m.as_str() == sample && p.valid.is_none_or(|valid| valid(m.as_str()))
            })
        });
        assert!(hit, "no standalone pattern for {sample:?}");
    }
}

/// English-looking filler with numbers, prices, dates and versions but no PII.
fn prose(bytes: usize) -> String {
    const SENTENCES: &[&str] = &[
        "The quarterly report shows revenue of $1,299.99 per unit across 42 regions.",
        "Our team met on 2024-01-15 at 10:30 to review version 2.4.1 of the planner.",
        "She walked along the river, thinking about the old house and its garden.",
        "Please see order #123456789 and invoice INV-2024-000123 for the details.",
        "Token budgets matter: a secret to good prompts is keeping them short.",
        "In 1998 the library bought 3 500 books; ISBN 978-3-16-148410-0 was one.",
        "Internationalization efforts continued throughout the following decade.",
        "He said the password reset page was confusing, so they rewrote it in May.",
    ];
    let mut text = String::with_capacity(bytes + 128);
    let mut i = 0;
    while text.len() < bytes {
        text.push_str(SENTENCES[i % SENTENCES.len()]);
        text.push(if i % 5 == 4 { '\n' } else { ' ' });
        i += 1;
    }
    text
}

/// 200 KB of prose: nothing found; with every kind scattered through it (across window edges),
/// every distinct value is redacted. Timing lives in `edge_bench`, not in tests.
#[test]
fn large_texts_are_scanned_whole() {
    let r = redactor();
    let clean = prose(200 * 1024);
    assert_eq!(r.find(&clean), vec![]);
    assert!(r.redact(&clean, &mut Redactions::default()).is_none());

    let values = [
        "jane.doe@example.com",
        "+44 20 7946 0958",
        "(555) 123-4567",
        "123-45-6789",
        "4111 1111 1111 1111",
        "DE89 3704 0044 0532 0130 00",
        "192.168.10.20",
        "2001:db8::8a2e:370:7334",
        "AKIAIOSFODNN7EXAMPLE",
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
        "password=hunter2",
        "Zq8vR2mN7xK4pL9sT3wY6bH1",
    ];
    let mut dirty = String::new();
    let chunk = prose(200 * 1024 / 36);
    for i in 0..36 {
        dirty.push_str(&chunk);
        dirty.push_str(values[i % values.len()]);
        dirty.push(' ');
    }
    let mut state = Redactions::default();
    assert!(r.redact(&dirty, &mut state).is_some());
    assert_eq!(state.count(), values.len());
}

/// Property tests: generated valid values never survive, benign lookalikes always do.
mod props {
    use super::*;
    use proptest::prelude::*;

    const FILLER: &[&str] = &[
        "the",
        "report",
        "was",
        "sent",
        "to",
        "our",
        "team",
        "yesterday",
        "with",
        "notes",
        "about",
        "pricing",
        "and",
        "delivery",
        "please",
        "check",
        "again",
        "thanks",
    ];
    const BASE62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    fn chars(alphabet: &'static [u8], len: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(alphabet), len)
            .prop_map(|v| String::from_utf8(v).unwrap())
    }

    fn digits(len: usize) -> impl Strategy<Value = String> {
        chars(b"0123456789", len)
    }

    /// Random base62 with at least one digit and one letter.
    fn token(len: usize) -> impl Strategy<Value = String> {
        (chars(BASE62, len - 2), 0..10u8, 0..26u8).prop_map(|(body, d, l)| {
            format!("{}{body}{}", char::from(b'a' + l), char::from(b'0' + d))
        })
    }

    fn luhn_digit(partial: &str) -> char {
        (b'0'..=b'9')
            .map(char::from)
            .find(|&d| luhn_valid(&format!("{partial}{d}")))
            .unwrap()
    }

    fn email() -> impl Strategy<Value = String> {
        (
            "[a-z]{2,8}(\\.[a-z]{2,6})?",
            "[a-z]{3,8}",
            prop::sample::select(vec!["com", "org", "io", "co.uk"]),
        )
            .prop_map(|(user, host, tld)| format!("{user}@{host}.{tld}"))
    }

    fn phone() -> impl Strategy<Value = String> {
        (digits(3), digits(3), digits(4), 0..8usize, digits(6)).prop_map(|(a, b, c, style, x)| {
            let a = format!("{}{}", a.as_bytes()[0] % 8 + 2, &a[1..]);
            match style {
                0 => format!("({a}) {b}-{c}"),
                1 => format!("{a}-{b}-{c}"),
                2 => format!("{a}.{b}.{c}"),
                3 => format!("+1 {a} {b} {c}"),
                4 => format!("+44 20 {} {c}", &x[..4]),
                5 => format!("+33 1 {} {} {}", &x[..2], &x[2..4], &x[4..]),
                6 => format!("+49 30 {b}{c}"),
                _ => format!("+91 9{} {}{}", &x[..4], &c, &b[..1]),
            }
        })
    }

    fn ssn() -> impl Strategy<Value = String> {
        (1..900u32, 1..100u32, 1..10000u32)
            .prop_filter("never issued", |(a, _, _)| *a != 666)
            .prop_map(|(a, g, s)| format!("{a:03}-{g:02}-{s:04}"))
    }

    fn card() -> impl Strategy<Value = (String, String)> {
        let prefixes = vec![
            ("4", 16),
            ("51", 16),
            ("55", 16),
            ("2221", 16),
            ("34", 15),
            ("37", 15),
            ("6011", 16),
            ("4", 13),
        ];
        (prop::sample::select(prefixes), digits(18), 0..3usize).prop_map(
            |((prefix, len), rest, style)| {
                let partial = format!("{prefix}{}", &rest[..len - prefix.len() - 1]);
                let number = format!("{partial}{}", luhn_digit(&partial));
                let sep = match style {
                    0 => "",
                    1 => " ",
                    _ => "-",
                };
                let groups: Vec<&str> = if len == 15 {
                    vec![&number[..4], &number[4..10], &number[10..]]
                } else {
                    number
                        .as_bytes()
                        .chunks(4)
                        .map(|c| std::str::from_utf8(c).unwrap())
                        .collect()
                };
                (groups.join(sep), number)
            },
        )
    }

    fn iban() -> impl Strategy<Value = String> {
        let countries = vec!["DE", "GB", "FR", "NL", "ES", "IT", "CH", "NO", "BE", "PL"];
        (
            prop::sample::select(countries),
            chars(b"0123456789", 30),
            chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4),
            any::<bool>(),
        )
            .prop_map(|(country, ds, letters, spaced)| {
                let len = iban_length(country.as_bytes()).unwrap();
                let bban = if matches!(country, "GB" | "NL") {
                    format!("{letters}{}", &ds[..len - 8])
                } else {
                    ds[..len - 4].to_owned()
                };
                let check = 98 - mod97(&format!("{bban}{country}00"));
                let compact = format!("{country}{check:02}{bban}");
                if spaced {
                    compact
                        .as_bytes()
                        .chunks(4)
                        .map(|c| std::str::from_utf8(c).unwrap())
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    compact
                }
            })
    }

    fn mod97(s: &str) -> u32 {
        s.bytes().fold(0, |r, b| match b {
            b'0'..=b'9' => (r * 10 + u32::from(b - b'0')) % 97,
            _ => (r * 100 + u32::from(b - b'A') + 10) % 97,
        })
    }

    fn ip() -> impl Strategy<Value = String> {
        prop_oneof![
            (1..=255u8, any::<u8>(), any::<u8>(), 1..=254u8)
                .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
            proptest::collection::vec(any::<u16>(), 6).prop_map(|g| {
                let g: Vec<String> = g.iter().map(|x| format!("{x:x}")).collect();
                format!("2001:db8:{}", g.join(":"))
            }),
            (any::<u16>(), any::<u16>()).prop_map(|(a, b)| format!("fe80::{a:x}:{b:x}:1")),
        ]
    }

    fn api_key() -> impl Strategy<Value = String> {
        prop_oneof![
            token(48).prop_map(|t| format!("sk-proj-{t}")),
            token(40).prop_map(|t| format!("sk-ant-api03-{t}")),
            chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16).prop_map(|t| format!("AKIA{t}")),
            token(36).prop_map(|t| format!("ghp_{t}")),
            (digits(12), token(24)).prop_map(|(d, t)| format!("xoxb-{d}-{t}")),
            chars(BASE62, 35).prop_map(|t| format!("AIza{t}")),
            token(24).prop_map(|t| format!("sk_live_{t}")),
            (token(20), token(30), token(43)).prop_map(|(a, b, c)| format!("eyJ{a}.eyJ{b}.{c}")),
        ]
    }

    /// (value, kind, digits-only form that must not survive either)
    fn value() -> impl Strategy<Value = (String, &'static str, Option<String>)> {
        prop_oneof![
            email().prop_map(|v| (v, EMAIL, None)),
            phone().prop_map(|v| (v, PHONE, None)),
            ssn().prop_map(|v| (v, SSN, None)),
            card().prop_map(|(v, d)| (v, CREDIT_CARD, Some(d))),
            iban().prop_map(|v| (v, IBAN, None)),
            ip().prop_map(|v| (v, IP_ADDRESS, None)),
            api_key().prop_map(|v| (v, API_KEY, None)),
            (32..41usize)
                .prop_flat_map(token)
                .prop_map(|v| (v, SECRET, None)),
            "[a-z]{4,12}".prop_map(|v| (format!("password={v}"), SECRET, None)),
        ]
    }

    fn filler() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop::sample::select(FILLER), 1..4).prop_map(|w| w.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn generated_values_never_survive(
            parts in proptest::collection::vec((filler(), value(), prop::sample::select(vec![" ", ", ", "\n", ". "])), 1..8)
        ) {
            let mut doc = String::new();
            for (words, (v, _, _), sep) in &parts {
                doc.push_str(words);
                doc.push(' ');
                doc.push_str(v);
                doc.push_str(sep);
            }
            let mut state = Redactions::default();
            let out = redactor().redact(&doc, &mut state).unwrap();
            for (_, (v, kind, digits_only), _) in &parts {
                let secret_part = v.strip_prefix("password=").unwrap_or(v);
                prop_assert!(!out.contains(secret_part), "{v:?} survived in {out:?}");
                if let Some(d) = digits_only {
                    prop_assert!(!out.contains(d.as_str()), "{d:?} survived in {out:?}");
                }
                let tag = format!("[REDACTED_{}_", tag(kind));
                prop_assert!(out.contains(&tag), "no {tag} in {out:?}");
            }
            prop_assert!(state.count() <= parts.len());
            for kind in state.kinds() {
                prop_assert!(parts.iter().any(|(_, (_, k, _), _)| *k == kind), "stray kind {kind} in {out:?}");
            }
        }

        #[test]
        fn benign_lookalikes_survive(
            parts in proptest::collection::vec((filler(), benign()), 1..8)
        ) {
            let doc: String = parts.iter().map(|(w, b)| format!("{w} {b} ")).collect();
            prop_assert_eq!(redactor().find(&doc), vec![], "in {:?}", doc);
        }
    }

    fn benign() -> impl Strategy<Value = String> {
        prop_oneof![
            (0..30u32, 0..30u32, 0..300u32).prop_map(|(a, b, c)| format!("v{a}.{b}.{c}")),
            (0..30u32, 0..30u32, 0..300u32, 0..9999u32)
                .prop_map(|(a, b, c, d)| format!("version {a}.{b}.{c}.{d}")),
            (1990..2030u32, 1..13u32, 1..29u32).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
            (1990..2030u32, 1..13u32, 1..29u32).prop_map(|(y, m, d)| format!("{d:02}/{m:02}/{y}")),
            (0..24u32, 0..60u32, 0..60u32).prop_map(|(h, m, s)| format!("{h:02}:{m:02}:{s:02}")),
            digits(9).prop_map(|d| format!("ISBN 978-3-{}-{}-{}", &d[..2], &d[2..8], &d[8..])),
            digits(9).prop_map(|d| format!("order #{d}")),
            (2000..2030u32, digits(6)).prop_map(|(y, d)| format!("INV-{y}-{d}")),
            card().prop_map(|(_, d)| {
                // Break the Luhn check by changing the last digit.
                let last = d.as_bytes()[d.len() - 1] - b'0';
                format!("{}{}", &d[..d.len() - 1], (last + 1) % 10)
            }),
            (1..100000u32, 0..100u32).prop_map(|(a, c)| format!("${a}.{c:02}")),
            chars(b"0123456789abcdef", 40),
            chars(b"0123456789abcdef", 64),
            (
                chars(b"0123456789abcdef", 8),
                chars(b"0123456789abcdef", 4),
                chars(b"0123456789abcdef", 12)
            )
                .prop_map(|(a, b, c)| format!("{a}-{b}-4{}-a{}-{c}", &b[1..], &b[1..])),
        ]
    }
}
