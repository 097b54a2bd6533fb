//! Word lists used by the near-miss gate.
//!
//! Every list is small, general-purpose English or technical vocabulary; none is tied to
//! particular cached queries. Entries are written in plain lowercase form and are passed
//! through [`super::text::stem`] once, when the [`Lexicon`] is first used, so lookups
//! compare stems with stems.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use super::text::stem;

/// Function words. Never compared as content, though negation, opposite and direction
/// checks still see them.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "if", "then", "else", "so", "of", "to", "in", "on", "at",
    "by", "for", "with", "from", "into", "onto", "about", "as", "than", "via", "per", "over",
    "under", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "done",
    "doing", "have", "has", "had", "having", "will", "would", "shall", "should", "can", "could",
    "may", "might", "must", "i", "me", "my", "mine", "myself", "we", "us", "our", "you", "your",
    "yours", "he", "him", "his", "she", "her", "it", "its", "they", "them", "their", "this",
    "that", "these", "those", "there", "here", "what", "which", "who", "whom", "whose", "when",
    "where", "why", "how", "whether", "not", "no", "never", "without", "except", "nor", "neither",
    "none", "some", "any", "all", "each", "every", "both", "either", "other", "another", "such",
    "own", "same", "only", "just", "also", "too", "very", "really", "quite", "much", "many",
    "more", "most", "less", "least", "few", "lot", "lots", "up", "down", "out", "off", "again",
    "still", "yet", "already", "ever", "even", "now", "please", "thanks", "thank", "hi", "hello",
    "hey", "okay", "ok", "yes", "one",
];

/// Frequent words that frame a request rather than carry its subject ("tell me", "the best
/// way", "an example"). A common word that appears on one side only is not a disagreement;
/// if it belongs to an opposite group the opposite check still applies.
#[rustfmt::skip]
const COMMON: &[&str] = &[
    // asking and explaining
    "tell", "know", "explain", "describe", "show", "give", "help", "want", "need", "like", "let",
    "say", "ask", "wonder", "curious", "understand", "mean", "meaning", "name", "call", "question",
    "answer", "info", "information", "detail", "idea", "thing", "something", "anything", "someone",
    "anyone", "kind", "type", "abbreviation",
    // generic actions
    "get", "make", "use", "work", "find", "see", "look", "try", "go", "come", "take", "put",
    "keep", "set", "write", "create", "build", "check", "calculate", "compute", "determine",
    "figure", "convert", "change", "turn", "happen", "cause", "form", "translate", "recommend",
    "suggest", "summarize", "summary", "overview", "item", "element",
    // generic qualities and framing nouns
    "way", "method", "approach", "good", "bad", "great", "correct", "proper", "right", "easy",
    "simple", "fast", "quick", "possible", "able", "efficient", "long", "new", "full", "whole",
    "entire", "exact", "approximately", "roughly", "around", "away", "actually", "exactly",
    "basically", "generally", "usually", "typically", "currently", "current", "example", "sample",
    "tutorial", "guide", "tip", "step", "instruction", "code", "snippet", "script", "program",
    "function", "command", "syntax", "formula", "recipe", "document", "difference", "different",
    "differ", "compare", "comparison", "versus", "vs", "between", "number", "size", "amount",
    "total", "degree",
    // ordinal words are compared as numbers
    "first", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth",
];

/// Words that flip the meaning of a request when present on one side only.
#[rustfmt::skip]
const NEGATIONS: &[&str] = &[
    "not", "no", "never", "without", "except", "excluding", "none", "nothing", "neither", "nor",
    "non", "cannot",
];

/// Names that identify what a query is about, matched case-insensitively: programming and
/// natural languages, file formats, units, currencies, countries, large cities, platforms.
#[rustfmt::skip]
const ENTITIES: &[&str] = &[
    // programming languages and tools
    "python", "javascript", "typescript", "java", "kotlin", "scala", "rust", "c++", "c#", "f#",
    "ruby", "php", "perl", "haskell", "elixir", "erlang", "clojure", "lua", "matlab", "bash",
    "zsh", "powershell", "sql", "html", "css", "fortran", "cobol", "ocaml", "zig", "solidity",
    "node.js", "angular", "vue", "django", "numpy", "pandas", "git", "docker", "kubernetes", "vim",
    "emacs",
    // natural languages
    "english", "spanish", "french", "german", "italian", "portuguese", "chinese", "mandarin",
    "japanese", "korean", "russian", "arabic", "hindi", "dutch", "swedish", "greek", "latin",
    "hebrew", "turkish", "polish",
    // formats and encodings
    "json", "xml", "yaml", "toml", "csv", "pdf", "docx", "xlsx", "markdown", "png", "jpeg", "jpg",
    "gif", "svg", "mp3", "mp4", "wav", "base64", "hex", "hexadecimal", "binary", "decimal",
    "octal", "ascii", "unicode", "utf",
    // units
    "celsius", "fahrenheit", "kelvin", "meter", "kilometer", "centimeter", "millimeter", "mile",
    "yard", "foot", "inch", "gram", "kilogram", "pound", "ounce", "ton", "tonne", "liter",
    "milliliter", "gallon", "quart", "pint", "cup", "tablespoon", "teaspoon", "mph", "knot",
    "acre", "hectare", "calorie", "joule", "watt", "kwh", "byte", "kilobyte", "megabyte",
    "gigabyte", "terabyte",
    // currencies
    "usd", "eur", "gbp", "jpy", "yuan", "rupee", "franc", "cad", "aud", "peso", "ruble", "bitcoin",
    "ethereum",
    // countries and regions
    "usa", "uk", "canada", "mexico", "brazil", "argentina", "france", "germany", "italy", "spain",
    "portugal", "netherlands", "belgium", "switzerland", "austria", "sweden", "norway", "denmark",
    "finland", "poland", "russia", "ukraine", "greece", "egypt", "nigeria", "kenya", "india",
    "pakistan", "china", "japan", "korea", "vietnam", "thailand", "indonesia", "australia",
    "ireland", "israel", "iran", "iraq", "europe", "asia", "africa", "america",
    // cities
    "london", "paris", "berlin", "madrid", "rome", "tokyo", "beijing", "shanghai", "moscow",
    "sydney", "toronto", "chicago", "boston", "seattle", "dubai", "singapore", "delhi", "mumbai",
    "istanbul", "amsterdam",
    // platforms
    "windows", "linux", "mac", "ios", "android", "iphone", "ubuntu",
];

/// Names that are also ordinary words ("go", "swift", "word"); they count as names only
/// when capitalised mid-sentence or written in capitals.
#[rustfmt::skip]
const AMBIGUOUS_ENTITIES: &[&str] = &[
    "go", "swift", "c", "r", "julia", "word", "apple", "amazon", "turkey", "chile", "jordan",
    "georgia", "react", "excel", "flask", "dart", "assembly",
];

/// Data shapes that take part in conversions ("a string to an integer").
#[rustfmt::skip]
const DATA_TYPES: &[&str] = &[
    "string", "integer", "float", "double", "boolean", "array", "list", "dictionary", "tuple",
    "vector", "dataframe", "timestamp", "datetime", "date", "byte", "char", "character", "set",
    "map", "queue", "stack",
];

/// Words that may sit between a conversion connector and its term: articles, possessives
/// and nouns that only carry the thing converted ("a Word document to PDF").
#[rustfmt::skip]
const FILLERS: &[&str] = &[
    "a", "an", "the", "this", "that", "these", "those", "my", "your", "our", "their", "its",
    "some", "document", "file", "code", "script", "program", "object", "value", "variable",
    "format", "text", "data",
];

/// Single-word swaps that keep the meaning: abbreviations, spelling variants and a few
/// common paraphrase verbs. Values may be several words ("sqrt" → "square root").
const SYNONYMS: &[(&str, &str)] = &[
    ("km", "kilometer"),
    ("kilometre", "kilometer"),
    ("cm", "centimeter"),
    ("centimetre", "centimeter"),
    ("mm", "millimeter"),
    ("millimetre", "millimeter"),
    ("metre", "meter"),
    ("mi", "mile"),
    ("ft", "foot"),
    ("feet", "foot"),
    ("lb", "pound"),
    ("lbs", "pound"),
    ("oz", "ounce"),
    ("kg", "kilogram"),
    ("kilo", "kilogram"),
    ("litre", "liter"),
    ("ml", "milliliter"),
    ("millilitre", "milliliter"),
    ("tsp", "teaspoon"),
    ("tbsp", "tablespoon"),
    ("dollar", "usd"),
    ("euro", "eur"),
    ("yen", "jpy"),
    ("btc", "bitcoin"),
    ("eth", "ethereum"),
    ("js", "javascript"),
    ("ts", "typescript"),
    ("py", "python"),
    ("cpp", "c++"),
    ("csharp", "c#"),
    ("golang", "go"),
    ("dict", "dictionary"),
    ("int", "integer"),
    ("str", "string"),
    ("bool", "boolean"),
    ("macos", "mac"),
    ("osx", "mac"),
    ("min", "minimum"),
    ("max", "maximum"),
    ("sqrt", "square root"),
    ("multiply", "times"),
    ("differentiate", "derivative"),
    ("reset", "change"),
    ("modify", "change"),
    ("alter", "change"),
    ("purchase", "buy"),
    ("automobile", "car"),
    ("film", "movie"),
    ("quit", "exit"),
    ("delete", "remove"),
    ("erase", "remove"),
    ("big", "large"),
    ("huge", "large"),
    ("tall", "high"),
    ("height", "high"),
    ("begin", "start"),
    ("finish", "end"),
    ("picture", "photo"),
    ("pic", "photo"),
    ("kid", "child"),
    ("construct", "build"),
    ("author", "write"),
    ("writer", "write"),
    ("painter", "paint"),
    ("inventor", "invent"),
    ("creator", "create"),
    ("discoverer", "discover"),
    ("designer", "design"),
    ("composer", "compose"),
    ("u", "you"),
    ("ur", "your"),
    ("pls", "please"),
    ("plz", "please"),
    ("thx", "thanks"),
];

/// Multi-word paraphrase patterns, matched on lowercase words before stemming and replaced
/// by a canonical form; an empty replacement drops the words ("or not").
const PHRASES: &[(&str, &str)] = &[
    ("how old", "age"),
    ("how tall", "high"),
    ("how high", "high"),
    ("how far", "distance"),
    ("how fast", "speed"),
    ("how heavy", "weight"),
    ("how big", "size"),
    ("how large", "size"),
    ("how many people live", "population"),
    ("in what year", "when"),
    ("in which year", "when"),
    ("what year", "when"),
    ("which year", "when"),
    ("what date", "when"),
    ("stand for", "abbreviation"),
    ("short for", "abbreviation"),
    ("acronym", "abbreviation"),
    ("time zone", "timezone"),
    ("most expensive", "expensive"),
    ("more expensive", "expensive"),
    ("least expensive", "cheapest"),
    ("less expensive", "cheaper"),
    ("or not", ""),
    ("yes or no", ""),
    ("chief executive officer", "ceo"),
    ("united states of america", "usa"),
    ("united states", "usa"),
    ("united kingdom", "uk"),
    ("great britain", "uk"),
    ("big o", "time complexity"),
    ("in order to", "to"),
    ("another word for", "synonym for"),
    ("a little bit", ""),
    ("a bit", ""),
];

/// Groups of words that answer different questions. Two queries disagree when each uses
/// a member of a group and they share none.
const OPPOSITES: &[&[&str]] = &[
    &["minimum", "maximum"],
    &["encode", "decode"],
    &["encrypt", "decrypt"],
    &["compress", "decompress"],
    &["zip", "unzip"],
    &["serialize", "deserialize"],
    &["increase", "decrease"],
    &["add", "remove"],
    &["insert", "remove"],
    &["append", "remove"],
    &["add", "subtract"],
    &["push", "pop"],
    &["create", "remove"],
    &["create", "destroy"],
    &["install", "uninstall"],
    &["upload", "download"],
    &["import", "export"],
    &["enable", "disable"],
    &["lock", "unlock"],
    &["show", "hide"],
    &["open", "close"],
    &["start", "stop"],
    &["start", "end"],
    &["read", "write"],
    &["send", "receive"],
    &["buy", "sell"],
    &["win", "lose"],
    &["before", "after"],
    &["first", "last"],
    &["ascending", "descending"],
    &["upper", "lower"],
    &["uppercase", "lowercase"],
    &["left", "right"],
    &["north", "south"],
    &["east", "west"],
    &["above", "below"],
    &["over", "under"],
    &["inside", "outside"],
    &["up", "down"],
    &["on", "off"],
    &["more", "less"],
    &["most", "least"],
    &["true", "false"],
    &["positive", "negative"],
    &["even", "odd"],
    &["soft", "hard"],
    &["easy", "hard", "difficult"],
    &["empty", "full"],
    &["synonym", "antonym"],
    &["split", "join"],
    &["get", "set"],
    &["include", "exclude"],
    &["accept", "reject"],
    &["allow", "block", "deny"],
    &["inner", "outer"],
    &["input", "output"],
    &["client", "server"],
    &["frontend", "backend"],
    &["private", "public"],
    &["static", "dynamic"],
    &["sync", "async"],
    &["horizontal", "vertical"],
    &["row", "column"],
    &["width", "high", "length", "depth"],
    &["key", "value"],
    &["singular", "plural"],
    &["plus", "minus", "times", "divide", "power"],
    &["squared", "cubed"],
    &["freeze", "boil", "melt"],
    &["sunrise", "sunset"],
    &["today", "tomorrow", "yesterday"],
    &["morning", "afternoon", "evening", "night"],
    &["spring", "summer", "autumn", "winter"],
    &[
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ],
    &["hot", "cold"],
    &["warm", "cool"],
    &["heavy", "light"],
    &["cheap", "expensive"],
    &["large", "small"],
    &["long", "short"],
    &["high", "low"],
    &["old", "young"],
    &["old", "new"],
    &["fast", "slow"],
    &["good", "bad"],
    &["safe", "dangerous"],
    &["raw", "cooked"],
    &["wet", "dry"],
    &["dead", "alive"],
    &["pass", "fail"],
    &["profit", "loss"],
    &["rise", "fall"],
    &["male", "female"],
    &["man", "woman"],
    &["boy", "girl"],
    &["mother", "father"],
    &["brother", "sister"],
    &["son", "daughter"],
    &["husband", "wife"],
    &[
        "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white",
        "gray",
    ],
];

/// The stemmed, ready-to-query form of the lists above.
pub(crate) struct Lexicon {
    stop: HashSet<String>,
    common: HashSet<String>,
    negations: HashSet<String>,
    entities: HashSet<String>,
    ambiguous: HashSet<String>,
    data_types: HashSet<String>,
    fillers: HashSet<String>,
    synonyms: HashMap<String, Vec<String>>,
    /// Lowercase surface words of each phrase and its replacement.
    pub(crate) phrases: Vec<(Vec<&'static str>, Vec<&'static str>)>,
    pub(crate) opposites: Vec<Vec<String>>,
}

fn stems(words: &[&str]) -> HashSet<String> {
    words.iter().map(|w| stem(w)).collect()
}

impl Lexicon {
    /// The shared lexicon, built on first use.
    pub(crate) fn get() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(Lexicon::build)
    }

    fn build() -> Lexicon {
        let mut stop = stems(STOPWORDS);
        stop.extend(STOPWORDS.iter().map(|w| (*w).to_string()));
        let synonyms = SYNONYMS
            .iter()
            .map(|(from, to)| (stem(from), to.split_whitespace().map(stem).collect()))
            .collect();
        let phrases = PHRASES
            .iter()
            .map(|(from, to)| {
                (
                    from.split_whitespace().collect(),
                    to.split_whitespace().collect(),
                )
            })
            .collect();
        let opposites = OPPOSITES
            .iter()
            .map(|group| group.iter().map(|w| stem(w)).collect())
            .collect();
        Lexicon {
            stop,
            common: stems(COMMON),
            negations: stems(NEGATIONS),
            entities: stems(ENTITIES),
            ambiguous: stems(AMBIGUOUS_ENTITIES),
            data_types: stems(DATA_TYPES),
            fillers: stems(FILLERS),
            synonyms,
            phrases,
            opposites,
        }
    }

    /// Whether a lowercase word or its stem is a function word.
    pub(crate) fn is_stop(&self, lower: &str, stemmed: &str) -> bool {
        self.stop.contains(lower) || self.stop.contains(stemmed)
    }

    pub(crate) fn is_common(&self, stemmed: &str) -> bool {
        self.common.contains(stemmed)
    }

    pub(crate) fn is_negation(&self, stemmed: &str) -> bool {
        self.negations.contains(stemmed)
    }

    /// Whether the stem is a name; `marked` says the writer capitalised it mid-sentence.
    pub(crate) fn is_entity(&self, stemmed: &str, marked: bool) -> bool {
        self.entities.contains(stemmed) || (marked && self.ambiguous.contains(stemmed))
    }

    /// Whether the stem is a name from the built-in lists (not just capitalised).
    pub(crate) fn is_known_entity(&self, stemmed: &str) -> bool {
        self.entities.contains(stemmed) || self.ambiguous.contains(stemmed)
    }

    pub(crate) fn is_data_type(&self, stemmed: &str) -> bool {
        self.data_types.contains(stemmed)
    }

    /// Whether the stem may sit between a conversion connector and its term.
    pub(crate) fn is_filler(&self, stemmed: &str) -> bool {
        self.fillers.contains(stemmed)
    }

    /// Canonical stems for a stem, if it has a listed synonym.
    pub(crate) fn synonym(&self, stemmed: &str) -> Option<&[String]> {
        self.synonyms.get(stemmed).map(Vec::as_slice)
    }
}
