//! Batch enrichment of JSON lines, the engine of `shopwatch enrich --input FILE.jsonl`.
//!
//! Contract: every input line that is a JSON object with a string `id` (or a number) and a
//! string `text` is written back, in input order, with `lang`, `tokens`, `keywords`,
//! `sentiment`, `polarity` and `aspects` added (other fields, such as `rating`, are kept);
//! the analysis is [`Enricher::analyze`], the streaming stage's code path. A bad line is
//! reported by its 1-based line number to `errors` and skipped; blank lines are ignored.
//! Lines are analysed in chunks by `threads` workers (std scoped threads).

use std::io::{BufRead, Write};

use serde_json::{Map, Value};

use crate::enricher::Enricher;

/// Lines handed to the workers at once.
pub const CHUNK_LINES: usize = 8192;

/// What a batch run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchSummary {
    /// Non-blank input lines.
    pub lines: usize,
    /// Lines written back enriched.
    pub enriched: usize,
    /// Lines reported as bad.
    pub bad: usize,
}

/// Enriches one JSON line; the error says what is wrong with it.
pub fn enrich_line(enricher: &Enricher, line: &str) -> Result<String, String> {
    let value: Value = serde_json::from_str(line).map_err(|error| format!("not JSON: {error}"))?;
    let Value::Object(mut object) = value else {
        return Err("not a JSON object".to_owned());
    };
    match object.get("id") {
        Some(Value::String(_) | Value::Number(_)) => {}
        Some(_) => return Err("`id` is neither a string nor a number".to_owned()),
        None => return Err("no `id`".to_owned()),
    }
    let text = match object.get("text") {
        Some(Value::String(text)) => text.clone(),
        Some(_) => return Err("`text` is not a string".to_owned()),
        None => return Err("no `text`".to_owned()),
    };
    let analysis = enricher.analyze(&text);
    let analysis = serde_json::to_value(&analysis).map_err(|error| error.to_string())?;
    if let Value::Object(fields) = analysis {
        merge(&mut object, fields);
    }
    serde_json::to_string(&Value::Object(object)).map_err(|error| error.to_string())
}

fn merge(object: &mut Map<String, Value>, fields: Map<String, Value>) {
    for (key, value) in fields {
        object.insert(key, value);
    }
}

/// Enriches every line of `input` into `output`, reporting bad lines to `errors`;
/// `progress` is called with the number of lines done after each chunk.
pub fn enrich_lines(
    enricher: &Enricher,
    input: impl BufRead,
    mut output: impl Write,
    errors: &mut dyn Write,
    threads: usize,
    progress: &mut dyn FnMut(usize),
) -> std::io::Result<BatchSummary> {
    let threads = threads.max(1);
    let mut summary = BatchSummary::default();
    let mut lines = input.lines();
    let mut line_number = 0usize;
    loop {
        let mut chunk: Vec<(usize, String)> = Vec::with_capacity(CHUNK_LINES);
        for line in lines.by_ref() {
            line_number += 1;
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            chunk.push((line_number, line));
            if chunk.len() == CHUNK_LINES {
                break;
            }
        }
        if chunk.is_empty() {
            break;
        }
        let results = enrich_chunk(enricher, &chunk, threads);
        for ((number, _), result) in chunk.iter().zip(results) {
            summary.lines += 1;
            match result {
                Ok(enriched) => {
                    output.write_all(enriched.as_bytes())?;
                    output.write_all(b"\n")?;
                    summary.enriched += 1;
                }
                Err(reason) => {
                    writeln!(errors, "line {number}: {reason}")?;
                    summary.bad += 1;
                }
            }
        }
        progress(summary.lines);
    }
    output.flush()?;
    Ok(summary)
}

fn enrich_chunk(
    enricher: &Enricher,
    chunk: &[(usize, String)],
    threads: usize,
) -> Vec<Result<String, String>> {
    let part = chunk.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunk
            .chunks(part)
            .map(|lines| {
                scope.spawn(move || {
                    lines
                        .iter()
                        .map(|(_, line)| enrich_line(enricher, line))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| match handle.join() {
                Ok(results) => results,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EnrichConfig;

    fn run(input: &str, threads: usize) -> (String, String, BatchSummary, Vec<usize>) {
        let enricher = Enricher::new(&EnrichConfig::default()).unwrap();
        let mut output = Vec::new();
        let mut errors = Vec::new();
        let mut progress = Vec::new();
        let summary = enrich_lines(
            &enricher,
            input.as_bytes(),
            &mut output,
            &mut errors,
            threads,
            &mut |done| progress.push(done),
        )
        .unwrap();
        (
            String::from_utf8(output).unwrap(),
            String::from_utf8(errors).unwrap(),
            summary,
            progress,
        )
    }

    #[test]
    fn good_lines_are_enriched_in_order_and_bad_lines_reported_by_number() {
        let input = concat!(
            "{\"id\":\"a\",\"text\":\"差评\",\"rating\":\"bad\"}\n",
            "not json\n",
            "\n",
            "{\"id\":2,\"text\":\"物流快，包装完好\"}\n",
            "{\"text\":\"no id\"}\n",
            "{\"id\":\"c\",\"text\":5}\n",
            "[1,2]\n",
            "{\"id\":\"d\",\"text\":\"东西不错，就是包装差点\"}\n",
        );
        let (output, errors, summary, progress) = run(input, 3);
        assert_eq!(
            summary,
            BatchSummary {
                lines: 7,
                enriched: 3,
                bad: 4
            }
        );
        assert_eq!(progress, vec![7]);
        assert_eq!(
            errors
                .lines()
                .map(|line| line.split(':').next().unwrap())
                .collect::<Vec<_>>(),
            ["line 2", "line 5", "line 6", "line 7"]
        );
        assert!(errors.contains("line 5: no `id`"), "{errors}");
        assert!(
            errors.contains("line 6: `text` is not a string"),
            "{errors}"
        );
        let lines: Vec<Value> = output
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["id"], "a");
        assert_eq!(lines[0]["rating"], "bad");
        assert_eq!(lines[0]["lang"], "zh");
        assert_eq!(lines[0]["tokens"], serde_json::json!(["差评"]));
        assert_eq!(
            lines[0]["keywords"],
            serde_json::json!([{"word": "差评", "category": "general"}])
        );
        assert_eq!(lines[0]["polarity"], "neg");
        assert!(lines[0]["sentiment"].as_f64().unwrap() < 0.4);
        assert_eq!(lines[1]["id"], 2);
        assert_eq!(lines[1]["polarity"], "pos");
        assert_eq!(
            lines[2]["aspects"],
            serde_json::json!([
                {"aspect": "quality", "polarity": "pos"},
                {"aspect": "packaging", "polarity": "neg"}
            ])
        );
    }

    #[test]
    fn output_does_not_depend_on_the_thread_count() {
        let input: String = (0..100)
            .map(|i| format!("{{\"id\":{i},\"text\":\"第{i}次买，物流很快，质量一般\"}}\n"))
            .collect();
        let (one, _, summary, _) = run(&input, 1);
        let (four, _, _, _) = run(&input, 4);
        assert_eq!(summary.enriched, 100);
        assert_eq!(one, four);
    }
}
