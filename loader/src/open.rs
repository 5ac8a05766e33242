//! Stage 1: read the object file, once, and parse it.
//!
//! What is read is an object file, and only that:
//!
//! - it is opened `O_NONBLOCK` (opening a FIFO then returns at once
//!   instead of waiting for a writer) and checked with `fstat` to be a
//!   regular file: a FIFO would block the read, `/dev/zero` would be read
//!   until memory runs out;
//! - its size is capped ([`crate::LoadOptions::max_object_size`]), checked
//!   before the bytes are read: a 2 GB file (sparse, or not an object) is
//!   refused without reading it;
//! - its first bytes must be the ELF magic, checked before the rest is
//!   read.
//!
//! A load reads what the parse needs ([`read_for_parse`]): a big object
//! (over 256 KiB) is read section by section, leaving out what the parse
//! never reads (DWARF, the relocations of debug information: a third of a
//! 1000-program `-g` object), so that those bytes take no memory. Only
//! iproute2's `PIN_OBJECT_NS`, whose directory is named after the SHA-1 of
//! the file, reads it whole again.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::Path;

use rxdp_elf::{Object, ParseError};

use crate::error::LoadError;

/// The bytes of the object file at `path`, at most `limit` of them.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, LoadError> {
    let (mut file, magic, size) = open_object(path, limit)?;
    let file_name = || path.display().to_string();
    let io_error = |error| LoadError::Read {
        file: file_name(),
        error,
    };
    // The size fstat gave, plus one byte to notice a file that grew past
    // the limit since.
    let mut bytes = Vec::with_capacity(size as usize);
    bytes.extend_from_slice(&magic);
    file.by_ref()
        .take(limit + 1 - magic.len() as u64)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > limit {
        return Err(LoadError::TooLarge {
            file: file_name(),
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// The bytes of the object file at `path` that [`Object::parse`] reads,
/// at most `limit` of them, and whether that is all of the file: the
/// sections a parse never reads (DWARF, the relocations of debug
/// information) are left zero in a big object, and cost no memory
/// ([`rxdp_elf::read_object`]). The checks are [`read`]'s.
pub fn read_for_parse(path: &Path, limit: u64) -> Result<(Vec<u8>, bool), LoadError> {
    let (file, _, size) = open_object(path, limit)?;
    // At most `limit` (checked): a file that grew since is read up to
    // the size checked, one that shrank fails to read.
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    rxdp_elf::read_object(size, |offset, buffer| file.read_exact_at(buffer, offset)).map_err(
        |error| LoadError::Read {
            file: path.display().to_string(),
            error,
        },
    )
}

/// Opens the object file at `path` for reading, once checked to be a
/// regular file of at most `limit` bytes that starts with the ELF magic:
/// the file, its first four bytes (read), and its size.
fn open_object(path: &Path, limit: u64) -> Result<(File, [u8; 4], u64), LoadError> {
    let file_name = || path.display().to_string();
    let io_error = |error| LoadError::Read {
        file: file_name(),
        error,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io_error)?;
    let kind = file.metadata().map_err(io_error)?;
    let file_type = kind.file_type();
    if !file_type.is_file() {
        let what = if file_type.is_dir() {
            "a directory"
        } else if file_type.is_fifo() {
            "a FIFO"
        } else if file_type.is_char_device() {
            "a character device"
        } else if file_type.is_block_device() {
            "a block device"
        } else if file_type.is_socket() {
            "a socket"
        } else {
            "not a file"
        };
        return Err(LoadError::NotAFile {
            file: file_name(),
            what,
        });
    }
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut file, &mut magic).map_err(io_error)?;
    if got < magic.len() || magic != *b"\x7fELF" {
        return Err(LoadError::Parse {
            file: file_name(),
            error: ParseError::NotElf,
        });
    }
    let size = kind.len();
    if size > limit {
        return Err(LoadError::TooLarge {
            file: file_name(),
            size,
            limit,
        });
    }
    Ok((file, magic, size))
}

/// Reads until `buffer` is full or the file ends; how many bytes came.
fn read_up_to(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// The object's model; parse errors name the file.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Object, LoadError> {
    Object::parse(bytes).map_err(|error| LoadError::Parse {
        file: path.display().to_string(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DEFAULT_MAX_OBJECT_SIZE;

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("rxdp-open-{}-{name}", std::process::id()))
    }

    /// A FIFO at `path`, with no writer.
    fn fifo(path: &Path) {
        let _ = std::fs::remove_file(path);
        assert!(std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap()
            .success());
    }

    /// A 2 GiB file at `path` that takes no room, starting with `start`.
    fn sparse(path: &Path, start: &[u8]) {
        std::fs::write(path, start).unwrap();
        OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(2 << 30)
            .unwrap();
    }

    #[test]
    fn only_regular_files_are_read() {
        let error = read(Path::new("/dev/zero"), DEFAULT_MAX_OBJECT_SIZE).unwrap_err();
        assert_eq!(
            error.to_string(),
            "/dev/zero: open: it is a character device, not a regular file: give the object \
             file itself (rxdp reads only regular files, so that a FIFO cannot block it nor a \
             device flood it)"
        );
        let error = read(Path::new("/"), DEFAULT_MAX_OBJECT_SIZE).unwrap_err();
        assert!(error.to_string().contains("it is a directory"), "{error}");
        // A FIFO with no writer: opening and refusing it does not block.
        let path = temp("fifo");
        fifo(&path);
        let error = read(&path, DEFAULT_MAX_OBJECT_SIZE).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(error.to_string().contains("it is a FIFO"), "{error}");
    }

    #[test]
    fn the_magic_comes_first_and_the_size_before_the_rest() {
        let path = temp("sparse");
        sparse(&path, b"");
        let not_elf = read(&path, DEFAULT_MAX_OBJECT_SIZE).unwrap_err();
        sparse(&path, b"\x7fELF");
        let too_large = read(&path, DEFAULT_MAX_OBJECT_SIZE).unwrap_err();
        std::fs::write(&path, b"\x7fELF and a little more").unwrap();
        let small = read(&path, 10).unwrap_err();
        let fits = read(&path, 100).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(not_elf.to_string().contains("not an ELF file"), "{not_elf}");
        assert!(
            too_large
                .to_string()
                .contains("it is 2147483648 bytes, more than the 256 MiB rxdp reads"),
            "{too_large}"
        );
        assert!(
            small.to_string().contains("more than the 10 bytes"),
            "{small}"
        );
        assert_eq!(fits, b"\x7fELF and a little more");
        let empty = read(Path::new("/dev/null"), 10).unwrap_err();
        assert!(empty.to_string().contains("character device"), "{empty}");
    }

    /// tests/MALFORMED.md ends with what rxdp says of files that are not
    /// objects: each row is what `read` says.
    #[test]
    fn the_table_of_files_that_are_not_objects_is_what_rxdp_says() {
        let table = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/MALFORMED.md");
        let text = std::fs::read_to_string(table).unwrap();
        let part = &text[text.find("## Files that are not objects").unwrap()..];
        let said = |path: &Path| {
            let message = read(path, DEFAULT_MAX_OBJECT_SIZE).unwrap_err().to_string();
            let prefix = format!("{}: open: ", path.display());
            message
                .strip_prefix(&prefix)
                .unwrap_or(&message)
                .to_string()
        };
        let fifo_path = temp("table-fifo");
        fifo(&fifo_path);
        let sparse_path = temp("table-sparse");
        let mut rows = vec![
            ("`/dev/zero`", said(Path::new("/dev/zero"))),
            ("a FIFO", said(&fifo_path)),
            ("a directory", said(Path::new("/"))),
        ];
        std::fs::remove_file(&fifo_path).unwrap();
        for (magic, row) in [
            (&b""[..], "2 GiB, sparse, no ELF magic"),
            (b"\x7fELF", "2 GiB, sparse, ELF magic"),
        ] {
            sparse(&sparse_path, magic);
            rows.push((row, said(&sparse_path)));
        }
        std::fs::remove_file(&sparse_path).unwrap();
        for (file, message) in rows {
            let row = format!("| {file} | {} |", message.replace('|', "\\|"));
            assert!(
                part.contains(&row),
                "tests/MALFORMED.md lacks the row\n{row}"
            );
        }
    }
}
