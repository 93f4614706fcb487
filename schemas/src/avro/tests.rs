use serde::Deserialize;

use super::*;
use crate::model::{EnrichedEvent, RawRecord};
use crate::samples;

#[test]
fn every_raw_kind_round_trips() {
    let codec = AvroCodec::raw_record();
    for record in samples::raw_records() {
        let bytes = codec.encode(&record).unwrap();
        assert_eq!(&bytes[..2], &MAGIC);
        let decoded: RawRecord = codec.decode(&bytes).unwrap();
        assert_eq!(decoded, record, "kind {}", record.kind);
    }
}

#[test]
fn every_enriched_kind_round_trips() {
    let codec = AvroCodec::enriched_event();
    for event in samples::enriched_events() {
        let bytes = codec.encode(&event).unwrap();
        let decoded: EnrichedEvent = codec.decode(&bytes).unwrap();
        assert_eq!(decoded, event, "kind {}", event.kind);
    }
}

/// What a v2 reader deserializes into: v1 plus the added field.
#[derive(Debug, Deserialize)]
struct RawRecordV2 {
    event_id: String,
    review: Option<crate::model::Review>,
    region: String,
}

#[test]
fn reader_with_added_defaulted_field_reads_v1_data() {
    let v2_schema = parse_composed(include_str!(
        "../../testdata/raw_record.v2-added-field.avsc"
    ))
    .unwrap();
    let v1_schema = AvroCodec::raw_record().schema().clone();
    let v2_reader = AvroCodec::new("shopwatch.RawRecord", v2_schema, vec![v1_schema]);

    let record = samples::raw_records().remove(0);
    let v1_bytes = AvroCodec::raw_record().encode(&record).unwrap();
    let read: RawRecordV2 = v2_reader.decode(&v1_bytes).unwrap();
    assert_eq!(read.event_id, record.event_id);
    assert_eq!(read.review, record.review);
    assert_eq!(read.region, "cn");
}

#[test]
fn committed_v1_sample_still_decodes() {
    // Guards against an accidental change of the v1 schema: a changed schema has another
    // fingerprint, and the sample written by the real v1 would no longer be readable.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/raw_record.v1.bin");
    let record = samples::raw_records().remove(0);
    if std::env::var_os("BLESS").is_some() {
        let bytes = AvroCodec::raw_record().encode(&record).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let bytes = std::fs::read(path).expect("run with BLESS=1 once to write the sample");
    let decoded: RawRecord = AvroCodec::raw_record().decode(&bytes).unwrap();
    assert_eq!(decoded, record);
    // The encoder writes exactly those bytes still (a faster encoder must not change them).
    assert_eq!(AvroCodec::raw_record().encode(&record).unwrap(), bytes);
}

#[test]
fn bad_messages_are_rejected_with_a_reason() {
    let codec = AvroCodec::raw_record();
    let error = codec.decode::<RawRecord>(b"{\"json\":true}").unwrap_err();
    assert!(
        matches!(error, CodecError::NotSingleObject { .. }),
        "{error}"
    );

    let mut foreign = codec.encode(&samples::raw_records()[0]).unwrap();
    foreign[2] ^= 0xff;
    let error = codec.decode::<RawRecord>(&foreign).unwrap_err();
    assert!(
        matches!(error, CodecError::UnknownWriterSchema { .. }),
        "{error}"
    );

    let whole = codec.encode(&samples::raw_records()[0]).unwrap();
    let error = codec
        .decode::<RawRecord>(&whole[..whole.len() / 2])
        .unwrap_err();
    assert!(matches!(error, CodecError::Malformed { .. }), "{error}");

    let error = codec.decode::<RawRecord>(&[]).unwrap_err();
    assert!(
        matches!(error, CodecError::NotSingleObject { .. }),
        "{error}"
    );
}

#[test]
fn composition_inlines_each_named_type_once() {
    let text = compose(RAW_RECORD_V1, NAMED_TYPES).unwrap();
    assert_eq!(text.matches("\"name\":\"Review\"").count(), 1);
    assert!(parse_composed(ENRICHED_EVENT_V1).is_ok());
}
