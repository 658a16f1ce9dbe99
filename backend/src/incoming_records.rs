//! The consumer behind the client-streaming endpoints (gRPC `UploadStream`, REST's
//! newline-delimited JSON upload) and the bidirectional ones (gRPC `Echo`, REST's
//! WebSocket): records that arrive one message at a time, each checked as it comes, so
//! both transports refuse the same things with the same words.

use std::time::{SystemTime, UNIX_EPOCH};

use lab_proto::RecordDigest;
use lab_proto::dataset::MAX_RECORDS;
use lab_proto::v1::{EchoResponse, Record, UploadResponse};

use crate::workload::{RequestError, check_count};

/// A client stream's records so far: their count and checksum.
#[derive(Debug, Default)]
pub struct UploadTally {
    digest: RecordDigest,
    count: u32,
}

impl UploadTally {
    /// Takes message number `count + 1`; refuses one without a record (or whose record
    /// holds none of the shapes), and any beyond the maximum count.
    pub fn add(&mut self, record: Option<&Record>) -> Result<(), RequestError> {
        let number = self.count + 1;
        let record = record
            .filter(|r| r.id().is_some())
            .ok_or_else(|| no_record(number.into()))?;
        if number > MAX_RECORDS {
            return Err(too_many(MAX_RECORDS));
        }
        self.digest.add(record);
        self.count = number;
        Ok(())
    }

    /// The answer once the client has sent everything (at least one record).
    pub fn finish(self) -> Result<UploadResponse, RequestError> {
        check_count(self.count)?;
        Ok(UploadResponse {
            count: self.count.into(),
            checksum: self.digest.finish(),
        })
    }
}

fn no_record(number: u64) -> RequestError {
    RequestError::InvalidArgument(format!("message {number} carries no record"))
}

fn too_many(max: u32) -> RequestError {
    RequestError::InvalidArgument(format!(
        "a stream carries at most {max} records: send the rest on another"
    ))
}

/// A bidirectional stream's answers: one per message, numbered.
#[derive(Debug, Default)]
pub struct Echoes {
    answered: u64,
}

impl Echoes {
    /// The answer to the next message: the record's id and when it was received.
    pub fn answer(&mut self, record: Option<&Record>) -> Result<EchoResponse, RequestError> {
        let number = self.answered + 1;
        if number > u64::from(MAX_RECORDS) {
            return Err(too_many(MAX_RECORDS));
        }
        let id = record
            .and_then(Record::id)
            .ok_or_else(|| no_record(number))?;
        self.answered = number;
        Ok(EchoResponse {
            id,
            received_unix_us: now_unix_us(),
        })
    }
}

fn now_unix_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use lab_proto::dataset;
    use lab_proto::v1::Shape;

    use super::*;

    #[test]
    fn a_tally_is_the_checksum_of_the_records_in_order() {
        let records = dataset::generate(Shape::Log, 4, 25);
        let mut tally = UploadTally::default();
        for record in &records {
            tally.add(Some(record)).unwrap();
        }
        let answer = tally.finish().unwrap();
        assert_eq!(answer.count, 25);
        assert_eq!(answer.checksum, lab_proto::checksum(&records));
    }

    #[test]
    fn empty_streams_and_messages_without_a_record_are_refused() {
        assert!(UploadTally::default().finish().is_err());
        let err = UploadTally::default().add(None).unwrap_err();
        assert_eq!(err.to_string(), "message 1 carries no record");
        let err = UploadTally::default()
            .add(Some(&Record::default()))
            .unwrap_err();
        assert_eq!(err.to_string(), "message 1 carries no record");
        let mut echoes = Echoes::default();
        let record = dataset::generate(Shape::Order, 1, 1).remove(0);
        let answer = echoes.answer(Some(&record)).unwrap();
        assert_eq!(Some(answer.id), record.id());
        assert!(answer.received_unix_us > 1_700_000_000_000_000);
        assert_eq!(
            echoes
                .answer(Some(&Record::default()))
                .unwrap_err()
                .to_string(),
            "message 2 carries no record"
        );
    }
}
