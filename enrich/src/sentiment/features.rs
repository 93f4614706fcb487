//! Feature extraction for the sentiment model, shared by training and inference.
//!
//! Contract: [`extract`] is pure and deterministic: the same text and tokens always give the
//! same hashed features, on every platform (FNV-1a over UTF-8 bytes). The text is split into
//! clauses at punctuation and at contrast words (但是/不过/可是/就是…); each clause gets its
//! own features (so aspects can be scored per clause) and a clause after a contrast word gets
//! every feature twice, once salted, so the model can weight the reviewer's real verdict.
//!
//! Per clause: jieba words; word bigrams (adjacent words, negators and degree adverbs
//! included); negation scope (the word after 不/没/别/无/非… becomes a separate
//! `neg:` feature, through degree adverbs); degree adverb + next word; character
//! bigrams (the clause's first character alone); lexicon hits (positive/negative/neutral, flipped when negated). Per text: emoji,
//! characters repeated three times or more (好好好), runs of `!`/`！` and `?`/`？`, a length
//! bucket.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::lexicon::{
    CONTRAST, DEGREE, EN_NEGATIVE, EN_NEGATORS, EN_POSITIVE, NEGATIVE, NEGATORS, NEUTRAL, POSITIVE,
};
use crate::negation::is_negated;
use crate::text::{is_emoji, is_word};

/// Bump when the features change: a model file records the version it was trained with.
pub const FEATURE_VERSION: u32 = 4;

/// One clause: its byte range in the text and its hashed features (unmasked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// Byte offset of the clause's first character.
    pub start: usize,
    /// Byte offset just past the clause's last character.
    pub end: usize,
    /// Hashed features; a feature may repeat (it then counts more).
    pub features: Vec<u64>,
}

/// The features of one text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Features {
    /// Clauses with at least one word, in text order.
    pub clauses: Vec<Clause>,
    /// Features of the whole text (emoji, repeats, length).
    pub doc: Vec<u64>,
}

impl Features {
    /// Returns true when the text held no word at all.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LexKind {
    Positive,
    Negative,
    Neutral,
}

struct Lexicon {
    matcher: AhoCorasick,
    kinds: Vec<LexKind>,
    words: Vec<&'static str>,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    let mut words: Vec<&'static str> = Vec::new();
    let mut kinds = Vec::new();
    for (list, kind) in [
        (NEUTRAL, LexKind::Neutral),
        (NEGATIVE, LexKind::Negative),
        (POSITIVE, LexKind::Positive),
    ] {
        for word in list {
            if !words.contains(word) {
                words.push(word);
                kinds.push(kind);
            }
        }
    }
    // Invariant: the lists are short static literals, which always compile.
    let matcher = AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .build(&words)
        .expect("static lexicon compiles");
    Lexicon {
        matcher,
        kinds,
        words,
    }
});

// Feature namespaces.
const NS_WORD: u8 = 1;
const NS_NEG_WORD: u8 = 2;
const NS_DEGREE_WORD: u8 = 3;
const NS_BIGRAM: u8 = 5;
const NS_LEX: u8 = 6;
const NS_LEX_WORD: u8 = 7;
const NS_EMOJI: u8 = 8;
const NS_REPEAT: u8 = 9;
const NS_PUNCT: u8 = 10;
const NS_LENGTH: u8 = 11;
const NS_CONTRAST: u8 = 12;
const NS_WORD_BIGRAM: u8 = 13;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

fn feature(namespace: u8, value: &str) -> u64 {
    finish(fnv(fnv(FNV_OFFSET, &[namespace]), value.as_bytes()))
}

/// A final mix so that the low bits (the bucket) depend on every input byte.
fn finish(mut hash: u64) -> u64 {
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash
}

/// A character bigram's feature, straight from the two code points.
fn bigram(first: char, second: char) -> u64 {
    finish(
        (u64::from(NS_BIGRAM) << 56)
            ^ (u64::from(u32::from(first)) << 24)
            ^ u64::from(u32::from(second))
            ^ FNV_OFFSET,
    )
}

fn salted(hash: u64, salt: u8) -> u64 {
    finish(hash ^ (u64::from(salt) << 56) ^ 0x9e37_79b9_7f4a_7c15)
}

const IS_NEGATOR: u8 = 1;
const IS_DEGREE: u8 = 2;
const IS_CONTRAST: u8 = 4;
const IS_EN_POSITIVE: u8 = 8;
const IS_EN_NEGATIVE: u8 = 16;

/// English words: lower-cased, then Snowball-stemmed (rust-stemmers).
pub fn english_stem(token: &str) -> String {
    static STEMMER: LazyLock<rust_stemmers::Stemmer> =
        LazyLock::new(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English));
    let lower = token.to_lowercase();
    STEMMER.stem(&lower).into_owned()
}

/// English stems → IS_EN_POSITIVE / IS_EN_NEGATIVE.
static ENGLISH_LEXICON: LazyLock<HashMap<String, u8, BuildHasherDefault<FnvHasher>>> =
    LazyLock::new(|| {
        let mut lexicon: HashMap<String, u8, BuildHasherDefault<FnvHasher>> = HashMap::default();
        for (list, flag) in [(EN_POSITIVE, IS_EN_POSITIVE), (EN_NEGATIVE, IS_EN_NEGATIVE)] {
            for word in list {
                lexicon.entry(english_stem(word)).or_insert(flag);
            }
        }
        lexicon
    });

fn is_english_word(token: &str) -> bool {
    token.bytes().any(|byte| byte.is_ascii_alphabetic())
        && token
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'\'' || byte == b'-')
}

/// Token → NEGATOR/DEGREE/CONTRAST flags, looked up by hash instead of list scans.
static WORD_CLASSES: LazyLock<HashMap<&'static str, u8, BuildHasherDefault<FnvHasher>>> =
    LazyLock::new(|| {
        let mut classes: HashMap<&'static str, u8, BuildHasherDefault<FnvHasher>> =
            HashMap::default();
        for (list, flag) in [
            (NEGATORS, IS_NEGATOR),
            (DEGREE, IS_DEGREE),
            (CONTRAST, IS_CONTRAST),
        ] {
            for word in list {
                *classes.entry(word).or_default() |= flag;
            }
        }
        // jieba cuts "don't" into "don" "'" "t": both halves keep the negation going.
        for word in EN_NEGATORS.iter().chain(&[
            "don", "didn", "isn", "wasn", "doesn", "aren", "weren", "couldn", "wouldn", "t",
        ]) {
            *classes.entry(word).or_default() |= IS_NEGATOR;
        }
        classes
    });

fn word_class(token: &str) -> u8 {
    if token.len() > 16 {
        return 0;
    }
    if let Some(class) = WORD_CLASSES.get(token) {
        return *class;
    }
    if token.bytes().any(|byte| byte.is_ascii_uppercase()) {
        return WORD_CLASSES
            .get(token.to_ascii_lowercase().as_str())
            .copied()
            .unwrap_or_default();
    }
    0
}

/// FNV-1a as a `Hasher` for the small word-class table.
#[derive(Default)]
struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 { FNV_OFFSET } else { self.0 };
        hash = fnv(hash, bytes);
        self.0 = hash;
    }
}

/// Extracts the features of `text`, given its segmentation `tokens` (which, concatenated,
/// give `text` back, as `Segmenter::cut` promises).
pub fn extract(text: &str, tokens: &[&str]) -> Features {
    let mut features = Features::default();
    let lexicon = &*LEXICON;
    let lexicon_hits: Vec<(usize, usize, usize)> = lexicon
        .matcher
        .find_iter(text)
        .map(|found| (found.start(), found.end(), found.pattern().as_usize()))
        .collect();

    // Token byte offsets; a segmenter breaking the contract only shifts clause ranges.
    let mut offset = 0usize;
    let mut current: Option<ClauseBuilder> = None;
    let mut previous_english = false;
    for token in tokens {
        let start = offset.min(text.len());
        offset += token.len();
        // Between English words, spaces and apostrophes (don't) do not end the clause.
        let inside_english = previous_english
            && (token.chars().all(|c| c == ' ') || *token == "'" || *token == "\u{2019}");
        if inside_english {
            continue;
        }
        previous_english = is_english_word(token);
        if !is_word(token) {
            if let Some(clause) = current.take() {
                clause.finish(text, &lexicon_hits, lexicon, &mut features.clauses);
            }
            continue;
        }
        let class = word_class(token);
        let contrast = class & IS_CONTRAST != 0;
        if contrast {
            if let Some(clause) = current.take() {
                clause.finish(text, &lexicon_hits, lexicon, &mut features.clauses);
            }
        }
        let clause = current.get_or_insert_with(|| ClauseBuilder::new(start, contrast));
        clause.push_token(token, class, start + token.len());
    }
    if let Some(clause) = current.take() {
        clause.finish(text, &lexicon_hits, lexicon, &mut features.clauses);
    }
    doc_features(text, &mut features.doc);
    features
}

struct ClauseBuilder {
    start: usize,
    end: usize,
    contrast: bool,
    negation_pending: bool,
    degree_pending: bool,
    /// The previous word's feature (0 at the clause start), for word bigrams.
    previous_word: u64,
    features: Vec<u64>,
}

impl ClauseBuilder {
    fn new(start: usize, contrast: bool) -> Self {
        ClauseBuilder {
            start,
            end: start,
            contrast,
            negation_pending: false,
            degree_pending: false,
            previous_word: 0,
            features: Vec::with_capacity(32),
        }
    }

    fn push_token(&mut self, token: &str, class: u8, end: usize) {
        self.end = end;
        if token.chars().all(char::is_whitespace) {
            return;
        }
        if class & IS_NEGATOR != 0 {
            let word = feature(NS_WORD, token);
            self.features.push(word);
            self.push_word_bigram(word);
            self.negation_pending = true;
            return;
        }
        if class & IS_DEGREE != 0 {
            let word = feature(NS_WORD, token);
            self.features.push(word);
            self.push_word_bigram(word);
            self.degree_pending = true;
            return;
        }
        let stem;
        let (word, english) = if is_english_word(token) {
            stem = english_stem(token);
            (stem.as_str(), true)
        } else {
            (token, false)
        };
        let negated = self.negation_pending;
        let unigram = feature(NS_WORD, word);
        self.push_word_bigram(unigram);
        if negated {
            self.features.push(feature(NS_NEG_WORD, word));
            self.negation_pending = false;
        } else {
            self.features.push(unigram);
        }
        if self.degree_pending {
            self.features.push(feature(NS_DEGREE_WORD, word));
            self.degree_pending = false;
        }
        if english {
            let flag = ENGLISH_LEXICON.get(word).copied().unwrap_or_default();
            let polarity = match (flag, negated) {
                (IS_EN_POSITIVE, false) => Some("pos"),
                (IS_EN_POSITIVE, true) => Some("negated_pos"),
                (IS_EN_NEGATIVE, false) => Some("neg"),
                (IS_EN_NEGATIVE, true) => Some("negated_neg"),
                _ => None,
            };
            if let Some(polarity) = polarity {
                self.features.push(feature(NS_LEX, polarity));
            }
        }
    }

    /// Adds the bigram of the previous word and `word` (a word's unigram feature).
    fn push_word_bigram(&mut self, word: u64) {
        if self.previous_word != 0 {
            self.features.push(finish(
                self.previous_word.rotate_left(21) ^ word ^ (u64::from(NS_WORD_BIGRAM) << 58),
            ));
        }
        self.previous_word = word;
    }

    fn finish(
        mut self,
        text: &str,
        lexicon_hits: &[(usize, usize, usize)],
        lexicon: &Lexicon,
        out: &mut Vec<Clause>,
    ) {
        let Some(clause_text) = text.get(self.start..self.end) else {
            return;
        };
        let mut previous: Option<char> = None;
        for c in clause_text.chars() {
            if c.is_whitespace() {
                previous = None;
                continue;
            }
            if let Some(p) = previous {
                self.features.push(bigram(p, c));
            } else {
                // The clause's first character stands alone once.
                self.features.push(bigram('\0', c));
            }
            previous = Some(c);
        }
        for &(start, end, pattern) in lexicon_hits {
            if start < self.start || end > self.end {
                continue;
            }
            let negated = is_negated(text, start);
            let polarity = match (lexicon.kinds[pattern], negated) {
                (LexKind::Positive, false) => "pos",
                (LexKind::Positive, true) => "negated_pos",
                (LexKind::Negative, false) => "neg",
                (LexKind::Negative, true) => "negated_neg",
                (LexKind::Neutral, _) => "neutral",
            };
            self.features.push(feature(NS_LEX, polarity));
            let word = lexicon.words[pattern];
            let namespace = if negated { NS_NEG_WORD } else { NS_LEX_WORD };
            self.features.push(feature(namespace, word));
        }
        if self.features.is_empty() {
            return;
        }
        if self.contrast {
            let count = self.features.len();
            for index in 0..count {
                let salted_feature = salted(self.features[index], NS_CONTRAST);
                self.features.push(salted_feature);
            }
        }
        out.push(Clause {
            start: self.start,
            end: self.end,
            features: self.features,
        });
    }
}

fn doc_features(text: &str, doc: &mut Vec<u64>) {
    let mut run_char: Option<char> = None;
    let mut run_length = 0usize;
    let mut chars = 0usize;
    let flush = |c: Option<char>, length: usize, doc: &mut Vec<u64>| {
        let Some(c) = c else { return };
        if length < 2 {
            return;
        }
        let mut buffer = [0u8; 4];
        match c {
            '!' | '！' => doc.push(feature(NS_PUNCT, "!!")),
            '?' | '？' => doc.push(feature(NS_PUNCT, "??")),
            '.' | '。' | '…' => doc.push(feature(NS_PUNCT, "..")),
            _ if length >= 3 => {
                doc.push(feature(NS_REPEAT, c.encode_utf8(&mut buffer)));
                doc.push(feature(NS_REPEAT, "any"));
            }
            _ => {}
        }
    };
    for c in text.chars() {
        chars += 1;
        if is_emoji(c) {
            let mut buffer = [0u8; 4];
            doc.push(feature(NS_EMOJI, c.encode_utf8(&mut buffer)));
        }
        if Some(c) == run_char {
            run_length += 1;
        } else {
            flush(run_char, run_length, doc);
            run_char = Some(c);
            run_length = 1;
        }
    }
    flush(run_char, run_length, doc);
    let bucket = match chars {
        0..=4 => "tiny",
        5..=10 => "short",
        11..=30 => "medium",
        31..=100 => "long",
        _ => "very_long",
    };
    doc.push(feature(NS_LENGTH, bucket));
}
