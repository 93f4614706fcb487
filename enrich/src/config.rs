//! The `[enrich]` configuration section.
//!
//! Contract: every field has a default, unknown keys are rejected, and [`EnrichConfig::validate`]
//! reports every problem at once, naming the key.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::EnrichError;

/// The category of the built-in keyword list and of entries that name none.
pub const DEFAULT_CATEGORY: &str = "default";

/// The user's original keyword list; each word is in [`BUILTIN_DICTIONARY`] under a category.
pub const DEFAULT_KEYWORDS: &[&str] = &[
    "差评",
    "垃圾",
    "骗人",
    "破损",
    "发错",
    "少发",
    "服务差",
    "态度恶劣",
    "假货",
];

/// The built-in categorized dictionary: problem words per category (the user's original
/// list, [`DEFAULT_KEYWORDS`], is part of it). Categories: `logistics`, `quality`,
/// `service`, `description` (mismatch with the listing), `packaging`, `price`,
/// `counterfeit`, `size` (size/fit) and `general`.
pub const BUILTIN_DICTIONARY: &[(&str, &[&str])] = &[
    (
        "general",
        &[
            "差评",
            "垃圾",
            "骗人",
            "上当",
            "坑人",
            "千万别买",
            "别买",
            "投诉",
        ],
    ),
    (
        "logistics",
        &[
            "发错",
            "少发",
            "漏发",
            "送错",
            "物流慢",
            "快递慢",
            "发货慢",
            "送货慢",
            "配送慢",
            "物流太慢",
            "快递太慢",
            "不发货",
            "迟迟不发货",
            "延迟发货",
            "丢件",
            "快递丢了",
            "一直没到",
            "还没到货",
            "超时",
            "送餐慢",
            "送得太慢",
        ],
    ),
    (
        "quality",
        &[
            "破损",
            "质量差",
            "质量太差",
            "质量不好",
            "坏了",
            "瑕疵",
            "开线",
            "掉色",
            "起球",
            "褪色",
            "异味",
            "做工差",
            "做工粗糙",
            "劣质",
            "用不了",
            "不能用",
            "故障",
            "漏水",
            "变质",
            "发霉",
            "不新鲜",
            "过期",
            "难吃",
            "死机",
            "残次品",
        ],
    ),
    (
        "service",
        &[
            "服务差",
            "态度恶劣",
            "态度差",
            "态度很差",
            "不理人",
            "客服不回",
            "不回复",
            "敷衍",
            "推卸责任",
            "爱答不理",
            "不给退",
            "拒绝退货",
            "不处理",
            "服务态度差",
        ],
    ),
    (
        "description",
        &[
            "与描述不符",
            "和描述不符",
            "描述不符",
            "货不对板",
            "色差",
            "图片不符",
            "与图片不符",
            "和图片不一样",
            "跟图片不一样",
            "虚假宣传",
            "实物不符",
            "不符合描述",
        ],
    ),
    (
        "packaging",
        &[
            "包装破损",
            "包装差",
            "包装简陋",
            "包装烂",
            "没有包装",
            "盒子坏了",
            "盒子压扁",
            "压坏",
            "挤压变形",
            "洒了",
            "撒了",
            "漏了",
            "包装太差",
        ],
    ),
    (
        "price",
        &[
            "太贵",
            "贵了",
            "不值",
            "不值这个价",
            "降价",
            "差价",
            "不划算",
            "坑钱",
            "价格虚高",
            "性价比低",
            "性价比差",
            "乱收费",
        ],
    ),
    (
        "counterfeit",
        &[
            "假货",
            "假的",
            "仿品",
            "山寨",
            "不是正品",
            "高仿",
            "盗版",
            "翻新",
            "二手货",
            "假冒",
        ],
    ),
    (
        "size",
        &[
            "偏小",
            "偏大",
            "尺码不准",
            "尺码不对",
            "不合身",
            "码数不对",
            "太紧",
            "太松",
            "磨脚",
            "尺寸不对",
            "大了一码",
            "小了一码",
        ],
    ),
];

/// The English part of the built-in dictionary, same categories (whole words only).
pub const BUILTIN_DICTIONARY_EN: &[(&str, &[&str])] = &[
    ("general", &["scam", "waste of money"]),
    (
        "logistics",
        &[
            "late delivery",
            "slow shipping",
            "never arrived",
            "wrong item",
            "missing item",
        ],
    ),
    (
        "quality",
        &["broken", "defective", "poor quality", "stopped working"],
    ),
    ("service", &["rude", "no response", "unhelpful"]),
    (
        "description",
        &["not as described", "different from the picture"],
    ),
    ("packaging", &["damaged box", "crushed", "poorly packed"]),
    ("price", &["overpriced", "too expensive"]),
    (
        "counterfeit",
        &["fake", "counterfeit", "knockoff", "not genuine"],
    ),
    (
        "size",
        &[
            "too small",
            "too big",
            "runs small",
            "runs large",
            "doesn't fit",
        ],
    ),
];

/// Settings of the enrich stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichConfig {
    /// The keyword dictionary. Setting it replaces the built-in categorized dictionary
    /// ([`BUILTIN_DICTIONARY`], which includes 差评 垃圾 骗人 破损 发错 少发 服务差 态度恶劣
    /// 假货); an entry without a category gets "default". A word preceded by a negator in
    /// the same clause (不破损, 没有破损) is not a hit.
    #[serde(default = "default_keywords")]
    pub keywords: Vec<KeywordEntry>,
    /// Entries added to `keywords`; an entry whose word is already there changes its category.
    #[serde(default)]
    pub extra_keywords: Vec<KeywordEntry>,
    /// A user dictionary in jieba's format (`word [freq] [tag]` per line) whose words the
    /// segmenter keeps whole. Without a frequency, jieba's suggested frequency is used.
    #[serde(default)]
    pub user_dictionary: Option<PathBuf>,
    /// The most records enriched (and sent on) in one batch.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// A sentiment model file (from `shopwatch train-sentiment`) replacing the built-in one.
    #[serde(default)]
    pub sentiment_model: Option<PathBuf>,
    /// P(positive) below this is polarity `neg` (default 0.4).
    #[serde(default = "default_neutral_min")]
    pub neutral_min: f64,
    /// P(positive) above this is polarity `pos`; in between is `neutral` (default 0.6).
    #[serde(default = "default_neutral_max")]
    pub neutral_max: f64,
}

/// One dictionary word and the category reported with its hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordEntry {
    /// The word, matched literally (ASCII letters case-insensitively).
    pub word: String,
    /// The category reported in `KeywordHit::category`.
    #[serde(default = "default_category")]
    pub category: String,
}

impl KeywordEntry {
    /// Builds an entry.
    pub fn new(word: impl Into<String>, category: impl Into<String>) -> Self {
        KeywordEntry {
            word: word.into(),
            category: category.into(),
        }
    }
}

fn default_keywords() -> Vec<KeywordEntry> {
    BUILTIN_DICTIONARY
        .iter()
        .chain(BUILTIN_DICTIONARY_EN)
        .flat_map(|(category, words)| {
            words
                .iter()
                .map(move |word| KeywordEntry::new(*word, *category))
        })
        .collect()
}

fn default_category() -> String {
    DEFAULT_CATEGORY.to_owned()
}

fn default_max_batch() -> usize {
    512
}

fn default_neutral_min() -> f64 {
    0.4
}

fn default_neutral_max() -> f64 {
    0.6
}

impl Default for EnrichConfig {
    fn default() -> Self {
        EnrichConfig {
            keywords: default_keywords(),
            extra_keywords: Vec::new(),
            user_dictionary: None,
            max_batch: default_max_batch(),
            sentiment_model: None,
            neutral_min: default_neutral_min(),
            neutral_max: default_neutral_max(),
        }
    }
}

impl EnrichConfig {
    /// Checks the settings and reports every problem at once.
    pub fn validate(&self) -> Result<(), EnrichError> {
        let mut problems = Vec::new();
        if self.max_batch == 0 {
            problems.push("enrich.max_batch must be at least 1".to_owned());
        }
        if !(0.0..=1.0).contains(&self.neutral_min)
            || !(0.0..=1.0).contains(&self.neutral_max)
            || self.neutral_min > self.neutral_max
        {
            problems.push(format!(
                "enrich.neutral_min ({}) and enrich.neutral_max ({}) must satisfy 0 <= min <= max <= 1",
                self.neutral_min, self.neutral_max
            ));
        }
        for (field, entries) in [
            ("keywords", &self.keywords),
            ("extra_keywords", &self.extra_keywords),
        ] {
            for (index, entry) in entries.iter().enumerate() {
                if entry.word.trim().is_empty() {
                    problems.push(format!("enrich.{field}[{index}].word is empty"));
                }
                if entry.category.trim().is_empty() {
                    problems.push(format!("enrich.{field}[{index}].category is empty"));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(EnrichError::Config {
                reason: problems.join("; "),
            })
        }
    }

    /// Returns the effective dictionary: `keywords` then `extra_keywords`, one entry per
    /// word (a later entry's category wins, the word keeps its first place).
    pub fn effective_keywords(&self) -> Vec<KeywordEntry> {
        let mut merged: Vec<KeywordEntry> = Vec::new();
        for entry in self.keywords.iter().chain(&self.extra_keywords) {
            match merged.iter_mut().find(|known| known.word == entry.word) {
                Some(known) => known.category.clone_from(&entry.category),
                None => merged.push(entry.clone()),
            }
        }
        merged
    }
}
