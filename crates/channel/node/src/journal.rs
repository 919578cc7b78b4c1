//! The node's durable state: an append-only journal of records, replayed on open.
//!
//! Each record is a frame: a 4-byte length, a 4-byte CRC-32 of the body (`crc32fast`; it detects
//! torn writes, not tampering), and the body (JSON). A batch of records is written with one
//! `write` and, in `SyncMode::Full`, one `fdatasync` before the caller sends anything that
//! depends on it. Journals written before the CRC (FNV-1a checksums) are read as such and
//! rewritten with CRCs on open. On open, a torn or corrupt
//! tail (a crash mid-write) is cut off; everything before it is intact. When the journal grows
//! past a threshold it is rewritten with only the live records (written to a new file, synced,
//! then renamed over the old one).

use std::{
    fs::{File, OpenOptions},
    io::{Read, Write},
    path::{Path, PathBuf},
};

use serde::{Serialize, de::DeserializeOwned};

/// How far a write goes before it counts as persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// `fdatasync` every batch: survives power loss.
    Full,
    /// Written to the OS: survives a crash of the process (kill -9), not of the machine.
    Os,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("journal {path}: record {index} does not decode: {why}")]
    Corrupt { path: String, index: usize, why: String },
}

pub struct Journal {
    path: PathBuf,
    file: File,
    sync: SyncMode,
    bytes: u64,
    compact_at: u64,
}

impl Journal {
    /// Opens (or creates) the journal and returns its records in order.
    pub fn open<R: DeserializeOwned>(path: &Path, sync: SyncMode) -> Result<(Self, Vec<R>), JournalError> {
        let io = |source| JournalError::Io { path: path.display().to_string(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut raw = Vec::new();
        if path.exists() {
            File::open(path).map_err(io)?.read_to_end(&mut raw).map_err(io)?;
        }
        let mut records = Vec::new();
        let mut at = 0usize;
        // The checksum the file was written with: the first intact frame says.
        let first_body = |len: usize| raw.get(8..8 + len);
        let legacy = raw.len() >= 8 && {
            let len = u32::from_be_bytes(raw[..4].try_into().expect("4 bytes")) as usize;
            first_body(len).is_some_and(|b| checksum(b) != raw[4..8] && fnv1a(b) == raw[4..8])
        };
        let sum: fn(&[u8]) -> [u8; 4] = if legacy { fnv1a } else { checksum };
        while raw.len() - at >= 8 {
            let len = u32::from_be_bytes(raw[at..at + 4].try_into().expect("4 bytes")) as usize;
            let Some(body) = raw.get(at + 8..at + 8 + len) else { break };
            if sum(body) != raw[at + 4..at + 8] {
                break;
            }
            let rec = serde_json::from_slice(body).map_err(|e| JournalError::Corrupt {
                path: path.display().to_string(),
                index: records.len(),
                why: e.to_string(),
            })?;
            records.push(rec);
            at += 8 + len;
        }
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(io)?;
        if (at as u64) < raw.len() as u64 {
            tracing::warn!(target: "aqueduct::channel", path = %path.display(), cut = raw.len() - at, "journal: cutting a torn tail");
            file.set_len(at as u64).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        let mut file = file;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0)).map_err(io)?;
        let mut journal = Self { path: path.to_path_buf(), file, sync, bytes: at as u64, compact_at: 64 << 20 };
        if legacy {
            // The same bodies, byte for byte, framed with CRCs (new file, sync, rename: a crash
            // keeps the old one).
            let mut buf = Vec::with_capacity(at);
            let mut i = 0;
            while i < at {
                let len = u32::from_be_bytes(raw[i..i + 4].try_into().expect("4 bytes")) as usize;
                let body = &raw[i + 8..i + 8 + len];
                buf.extend_from_slice(&raw[i..i + 4]);
                buf.extend_from_slice(&checksum(body));
                buf.extend_from_slice(body);
                i += 8 + len;
            }
            journal.replace_with(buf)?;
            tracing::info!(target: "aqueduct::channel", path = %path.display(), records = records.len(), "journal: rewritten with CRC-32 checksums");
        }
        Ok((journal, records))
    }

    fn io(&self, source: std::io::Error) -> JournalError {
        JournalError::Io { path: self.path.display().to_string(), source }
    }

    /// Appends `records` and makes them durable (per the sync mode) before returning.
    pub fn append<R: Serialize>(&mut self, records: &[R]) -> Result<(), JournalError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(records.len() * 512);
        for r in records {
            frame(&mut buf, r);
        }
        self.file.write_all(&buf).map_err(|e| self.io(e))?;
        if self.sync == SyncMode::Full {
            self.file.sync_data().map_err(|e| self.io(e))?;
        }
        self.bytes += buf.len() as u64;
        Ok(())
    }

    /// Whether the journal has grown enough to be rewritten.
    pub fn wants_compaction(&self) -> bool {
        self.bytes > self.compact_at
    }

    /// Replaces the journal with exactly `live` (atomically: new file, sync, rename).
    pub fn compact<R: Serialize>(&mut self, live: &[R]) -> Result<(), JournalError> {
        let mut buf = Vec::new();
        for r in live {
            frame(&mut buf, r);
        }
        self.replace_with(buf)
    }

    /// Replaces the journal's contents with the frames in `buf`.
    fn replace_with(&mut self, buf: Vec<u8>) -> Result<(), JournalError> {
        let tmp = self.path.with_extension("compact");
        let mut f = File::create(&tmp).map_err(|e| self.io(e))?;
        f.write_all(&buf).map_err(|e| self.io(e))?;
        f.sync_all().map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = File::open(dir)
        {
            d.sync_all().ok();
        }
        self.file = OpenOptions::new().append(true).open(&self.path).map_err(|e| self.io(e))?;
        self.bytes = buf.len() as u64;
        self.compact_at = (self.bytes * 4).max(64 << 20);
        Ok(())
    }
}

/// CRC-32 (IEEE) of `body`, big-endian.
fn checksum(body: &[u8]) -> [u8; 4] {
    crc32fast::hash(body).to_be_bytes()
}

/// FNV-1a (32-bit) of `body`, big-endian: the checksum of journals written before the CRC.
fn fnv1a(body: &[u8]) -> [u8; 4] {
    let mut h: u32 = 0x811c_9dc5;
    for b in body {
        h = (h ^ *b as u32).wrapping_mul(0x0100_0193);
    }
    h.to_be_bytes()
}

fn frame<R: Serialize>(buf: &mut Vec<u8>, r: &R) {
    let body = serde_json::to_vec(r).expect("plain data serializes");
    buf.extend_from_slice(&(body.len() as u32).to_be_bytes());
    buf.extend_from_slice(&checksum(&body));
    buf.extend_from_slice(&body);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal written with FNV-1a checksums (before the CRC) replays whole and is rewritten
    /// with CRCs; appends after that replay too.
    #[test]
    fn reads_and_rewrites_a_journal_with_the_old_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut raw = Vec::new();
        for r in [7u64, 8, 9] {
            let body = serde_json::to_vec(&r).unwrap();
            raw.extend_from_slice(&(body.len() as u32).to_be_bytes());
            raw.extend_from_slice(&fnv1a(&body));
            raw.extend_from_slice(&body);
        }
        std::fs::write(&path, &raw).unwrap();
        let (mut j, recs) = Journal::open::<u64>(&path, SyncMode::Full).unwrap();
        assert_eq!(recs, vec![7, 8, 9]);
        j.append(&[10u64]).unwrap();
        drop(j);
        let body = &std::fs::read(&path).unwrap()[8..9];
        assert_eq!(std::fs::read(&path).unwrap()[4..8], checksum(body), "rewritten with CRCs");
        let (_, recs) = Journal::open::<u64>(&path, SyncMode::Full).unwrap();
        assert_eq!(recs, vec![7, 8, 9, 10]);
    }

    #[test]
    fn replays_cuts_torn_tails_and_compacts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (mut j, recs) = Journal::open::<u64>(&path, SyncMode::Full).unwrap();
        assert!(recs.is_empty());
        j.append(&[1u64, 2, 3]).unwrap();
        j.append(&[4u64]).unwrap();
        drop(j);
        // A crash mid-write leaves half a frame.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[0, 0, 0, 9, 1, 2]).unwrap();
        drop(f);
        let (mut j, recs) = Journal::open::<u64>(&path, SyncMode::Os).unwrap();
        assert_eq!(recs, vec![1, 2, 3, 4]);
        j.append(&[5u64]).unwrap();
        j.compact(&[4u64, 5]).unwrap();
        j.append(&[6u64]).unwrap();
        drop(j);
        let (_, recs) = Journal::open::<u64>(&path, SyncMode::Full).unwrap();
        assert_eq!(recs, vec![4, 5, 6]);
        // A flipped byte inside a frame ends the replay there.
        let mut raw = std::fs::read(&path).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        std::fs::write(&path, raw).unwrap();
        let (_, recs) = Journal::open::<u64>(&path, SyncMode::Full).unwrap();
        assert_eq!(recs, vec![4, 5]);
    }
}
