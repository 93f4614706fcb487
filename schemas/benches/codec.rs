//! Encode and decode throughput of the Avro single-object codec (a plain timing loop; run with
//! `cargo bench -p schemas --bench codec`).

use std::time::Instant;

use schemas::{samples, AvroCodec, EnrichedEvent};

fn main() {
    let codec = AvroCodec::enriched_event();
    let events = samples::enriched_events();
    let review = &events[0];
    let rounds = 20_000;
    let started = Instant::now();
    let mut bytes = Vec::new();
    for _ in 0..rounds {
        bytes = codec.encode(review).expect("sample encodes");
    }
    let encode = started.elapsed();
    let started = Instant::now();
    for _ in 0..rounds {
        let decoded: EnrichedEvent = codec.decode(&bytes).expect("sample decodes");
        std::hint::black_box(decoded);
    }
    let decode = started.elapsed();
    println!(
        "enriched review event ({} bytes): encode {:.0}/s, decode {:.0}/s",
        bytes.len(),
        rounds as f64 / encode.as_secs_f64(),
        rounds as f64 / decode.as_secs_f64()
    );
}
