//! Aspects: what a review talks about (logistics, quality, service, description, packaging,
//! price, authenticity), each with the polarity of the clause that mentions it.
//!
//! Contract: [`AspectMatcher::find`] reports each mentioned aspect once, in the order of its
//! first mention. An aspect's polarity comes from the sentiment model applied to the clauses
//! mentioning it (their logits averaged), so "东西不错，就是包装差点" gives quality `pos` and
//! packaging `neg`. A mention term inside a negation (没有客服) still counts as a mention.

use std::sync::{Arc, LazyLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use schemas::AspectPolarity;

use crate::sentiment::{Features, Score, Sentiment};

/// The aspects and the words that mention them.
pub const ASPECT_TERMS: &[(&str, &[&str])] = &[
    (
        "logistics",
        &[
            "物流",
            "快递",
            "发货",
            "送货",
            "配送",
            "到货",
            "送达",
            "骑手",
            "外卖小哥",
            "小哥",
            "派送",
            "运输",
            "送餐",
            "顺丰",
            "速度",
            "收到货",
            "邮寄",
            "送来",
            "送得",
            "送的",
            "送到",
            "外卖",
        ],
    ),
    (
        "quality",
        &[
            "质量", "东西", "做工", "材质", "品质", "面料", "效果", "味道", "口感", "手感", "屏幕",
            "电池", "音质", "性能", "商品", "产品", "宝贝", "菜", "衣服", "鞋", "用料", "口味",
            "书", "纸张", "印刷",
        ],
    ),
    (
        "service",
        &[
            "客服",
            "服务",
            "态度",
            "卖家",
            "商家",
            "店家",
            "老板",
            "售后",
            "前台",
            "服务员",
            "掌柜",
        ],
    ),
    (
        "description",
        &[
            "描述", "图片", "实物", "色差", "宣传", "介绍", "详情", "照片", "与图", "和图",
        ],
    ),
    (
        "packaging",
        &[
            "包装",
            "盒子",
            "外包装",
            "箱子",
            "封口",
            "餐盒",
            "包装盒",
            "打包",
            "泡沫",
        ],
    ),
    (
        "price",
        &[
            "价格",
            "价钱",
            "性价比",
            "便宜",
            "贵",
            "划算",
            "实惠",
            "优惠",
            "价位",
            "降价",
            "差价",
        ],
    ),
    (
        "authenticity",
        &[
            "正品", "假货", "真假", "假的", "仿品", "防伪", "专柜", "山寨", "高仿", "盗版", "真品",
        ],
    ),
];

/// English words mentioning the aspects (matched as whole words, case-insensitively).
pub const ASPECT_TERMS_EN: &[(&str, &[&str])] = &[
    (
        "logistics",
        &["shipping", "delivery", "courier", "arrived", "shipped"],
    ),
    ("quality", &["quality", "material", "product", "item"]),
    ("service", &["seller", "service", "support"]),
    (
        "description",
        &["described", "description", "picture", "photo"],
    ),
    ("packaging", &["packaging", "package", "box", "packed"]),
    ("price", &["price", "expensive", "cheap", "value"]),
    (
        "authenticity",
        &["genuine", "authentic", "fake", "counterfeit"],
    ),
];

/// Finds aspect mentions with aho-corasick.
#[derive(Debug, Clone)]
pub struct AspectMatcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    matcher: AhoCorasick,
    aspect_of: Vec<usize>,
}

static BUILTIN: LazyLock<Arc<Inner>> = LazyLock::new(|| {
    let mut words = Vec::new();
    let mut aspect_of = Vec::new();
    for list in [ASPECT_TERMS, ASPECT_TERMS_EN] {
        for (name, terms) in list {
            // Invariant: both lists name the same aspects.
            let index = ASPECT_TERMS
                .iter()
                .position(|(aspect, _)| aspect == name)
                .expect("English aspect names match the Chinese ones");
            for term in *terms {
                words.push(*term);
                aspect_of.push(index);
            }
        }
    }
    // Invariant: static literal terms always compile.
    let matcher = AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .build(&words)
        .expect("static aspect terms compile");
    Arc::new(Inner { matcher, aspect_of })
});

impl AspectMatcher {
    /// Returns the matcher of [`ASPECT_TERMS`], shared by the process.
    pub fn builtin() -> Self {
        AspectMatcher {
            inner: Arc::clone(&BUILTIN),
        }
    }

    /// Returns the aspects `text` mentions with their polarity; `features` and `score` are
    /// the text's, as the sentiment model computed them.
    pub fn find(
        &self,
        text: &str,
        features: &Features,
        score: &Score,
        sentiment: &Sentiment,
    ) -> Vec<AspectPolarity> {
        // Per aspect: (first mention, sum of clause logits, clauses counted, last clause).
        let mut seen: Vec<Option<(usize, f32, u32, usize)>> = vec![None; ASPECT_TERMS.len()];
        for found in self.inner.matcher.find_iter(text) {
            if !crate::text::on_word_boundaries(text, found.start(), found.end()) {
                continue;
            }
            let Some(clause) = features
                .clauses
                .iter()
                .position(|clause| clause.start <= found.start() && found.end() <= clause.end)
            else {
                continue;
            };
            let logit = score.clause_logits.get(clause).copied().unwrap_or_default();
            let slot = &mut seen[self.inner.aspect_of[found.pattern().as_usize()]];
            match slot {
                None => *slot = Some((found.start(), logit, 1, clause)),
                Some((_, sum, count, last)) if *last != clause => {
                    *sum += logit;
                    *count += 1;
                    *last = clause;
                }
                Some(_) => {}
            }
        }
        let mut mentioned: Vec<(usize, usize, f32)> = seen
            .iter()
            .enumerate()
            .filter_map(|(aspect, entry)| {
                entry.map(|(first, sum, count, _)| (first, aspect, sum / count as f32))
            })
            .collect();
        mentioned.sort_by_key(|entry| entry.0);
        mentioned
            .into_iter()
            .map(|(_, aspect, logit)| AspectPolarity {
                aspect: ASPECT_TERMS[aspect].0.to_owned(),
                polarity: sentiment.clause_polarity(logit),
            })
            .collect()
    }
}
