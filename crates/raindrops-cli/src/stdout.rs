//! Writing a generated text (completions, the man page) to stdout.

use std::io::Write;

use crate::exit::Code;

/// Writes `text` to stdout; a reader that goes away early (`| head`) is a broken pipe, which
/// [`crate::exit::report`] treats as success.
pub(crate) fn write_all(text: &[u8]) -> anyhow::Result<Code> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text)?;
    stdout.flush()?;
    Ok(Code::Success)
}
