//! `shopwatch enrich --input FILE.jsonl [--output FILE.jsonl]`: batch enrichment.
//!
//! Contract: the same analysis as the streaming stage (`enrich::Enricher::analyze`, through
//! `enrich::batch`), on all cores by default. Bad lines are reported on stderr by line
//! number and skipped; a progress line is drawn on stderr only when stderr is a terminal.
//! Output goes to `--output` or stdout.

use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use enrich::batch::{enrich_lines, BatchSummary};
use enrich::{EnrichConfig, Enricher};

/// Options of the batch mode.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    /// JSON lines with at least `id` and `text`.
    pub input: PathBuf,
    /// Where to write the enriched lines; stdout when absent.
    pub output: Option<PathBuf>,
    /// Worker threads; all cores when absent.
    pub threads: Option<usize>,
}

/// Runs the batch mode and returns its summary (also printed on stderr).
pub fn run_batch(config: &EnrichConfig, options: &BatchOptions) -> anyhow::Result<BatchSummary> {
    let enricher = Enricher::new(config).context("cannot build the enricher")?;
    let input = std::fs::File::open(&options.input)
        .with_context(|| format!("cannot read {}", options.input.display()))?;
    let input = BufReader::new(input);
    let threads = options
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let stderr = std::io::stderr();
    let terminal = stderr.is_terminal();
    let mut errors = stderr.lock();
    let mut progress = |done: usize| {
        if terminal {
            eprint!("\renriched {done} lines");
        }
    };
    let summary = match &options.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            enrich_lines(
                &enricher,
                input,
                BufWriter::new(file),
                &mut errors,
                threads,
                &mut progress,
            )?
        }
        None => {
            let stdout = std::io::stdout();
            enrich_lines(
                &enricher,
                input,
                BufWriter::new(stdout.lock()),
                &mut errors,
                threads,
                &mut progress,
            )?
        }
    };
    if terminal {
        eprintln!();
    }
    writeln!(
        errors,
        "{} lines: {} enriched, {} bad",
        summary.lines, summary.enriched, summary.bad
    )?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_mode_writes_enriched_lines_and_counts_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.jsonl");
        let output = dir.path().join("out.jsonl");
        std::fs::write(
            &input,
            "{\"id\":\"1\",\"text\":\"快递太慢了，包装破损\",\"rating\":1}\nbroken\n{\"id\":\"2\",\"text\":\"很好\"}\n",
        )
        .unwrap();
        let options = BatchOptions {
            input,
            output: Some(output.clone()),
            threads: Some(2),
        };
        let summary = run_batch(&EnrichConfig::default(), &options).unwrap();
        assert_eq!(
            summary,
            BatchSummary {
                lines: 3,
                enriched: 2,
                bad: 1
            }
        );
        let written = std::fs::read_to_string(&output).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("\"polarity\":\"neg\""), "{}", lines[0]);
        assert!(lines[0].contains("\"rating\":1"), "{}", lines[0]);
        assert!(lines[1].contains("\"polarity\":\"pos\""), "{}", lines[1]);
    }

    #[test]
    fn a_missing_input_file_is_an_error_naming_it() {
        let options = BatchOptions {
            input: "/nonexistent/reviews.jsonl".into(),
            ..BatchOptions::default()
        };
        let error = run_batch(&EnrichConfig::default(), &options).unwrap_err();
        assert!(format!("{error:#}").contains("/nonexistent/reviews.jsonl"));
    }
}
